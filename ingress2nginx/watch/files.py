"""The file source of watch mode: manifests in files and folders, observed with watchdog.

`FileSource` implements watching.py's `Source` protocol. It reloads through loading.py with a
`KeepLastGood` parse cache, so a pass re-parses only the files whose stat changed. What it
copes with, and how:

- folders are watched recursively, a single file through its parent folder (editors save by
  writing a temp file and renaming it over the original; the file's inode changes);
- ConfigMap and Secret volumes: the kubelet writes a new hidden ``..<timestamp>`` folder, points
  a ``..data_tmp`` link at it and renames that link over ``..data`` (the visible names link
  through ``..data``); the rename is an event in the watched folder, and the changed inodes
  make the cache parse the files again;
- deletions: a file gone from a folder takes its objects with it; a SOURCE itself gone fails
  the pass (nginx keeps the last good config) until it is back;
- partial writes: a file that stops parsing keeps its last good objects (`KeepLastGood`) and
  is reported; the next event (the rest of the write) parses it again;
- a watched folder that is missing or replaced is (re)watched at the next snapshot; a
  missing one is watched for through its parent, which wakes the loop only for the SOURCE's
  own name (not for every write beside it: the pass is retried with the loop's backoff); the
  periodic resync of the loop catches anything else (folders behind symlinks, lost events).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, SourceError, shown
from ingress2nginx.core.logs import fields
from ingress2nginx.sources.loading import LoadResult, ParseCache, load_sources

log = logging.getLogger("ingress2nginx.watch")

_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
"""Reading a file is no change (and the loop's own reads would wake it again)."""


class FileSource:
    """Files and folders, observed with watchdog.

    Folders are watched recursively; a file through its parent folder (not the file itself:
    editors save by writing a temp file and renaming it over the original, and a ConfigMap
    volume swaps its ``..data`` link, so the file's inode changes). A watched path that is
    missing, or replaced by a new folder, is (re)watched at the next snapshot.
    """

    name = "files"

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = [os.path.abspath(path) for path in paths]
        self._cache = KeepLastGood()
        self._observer: BaseObserver | None = None
        self._handler: FileSystemEventHandler | None = None
        self._watches: dict[tuple[str, bool], tuple[ObservedWatch, int]] = {}
        self._watched_roots: frozenset[str] = frozenset()
        """The folders of `_watches`, for the observer's thread (replaced, never changed)."""
        self._deleted: set[str] = set()
        """Watched folders seen deleted (by the observer's thread): watched anew even if a
        folder recreated there got the same inode number back (its watch ended)."""

    def start(self, changed: Callable[[str], None]) -> None:
        self._handler = _Notifier(changed, self._concerns, self._folder_deleted)
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._ensure_watches()

    def snapshot(self) -> LoadResult:
        self._ensure_watches()
        return load_sources(self.paths, cache=self._cache)

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
        self._watches.clear()

    def _folder_deleted(self, path: str) -> None:
        """Called from the observer's thread: note `path` if it is a watched folder."""
        if path in self._watched_roots:
            self._deleted.add(path)

    def _concerns(self, path: str) -> bool:
        """Whether a change at `path` may change a SOURCE. A folder source is watched alone,
        so everything in it does. Through a parent folder: the SOURCE's own name (created,
        renamed into place, deleted); for a file SOURCE that exists, anything beside it too
        (an editor's temp file, a ConfigMap's ``..data`` swap). A SOURCE that does not exist
        yet is not woken by its siblings (the watcher's own log, say): the pass is retried
        with the loop's backoff until the SOURCE appears."""
        for source in self.paths:
            if path == source or path.startswith(source + os.sep):
                return True
            beside = os.path.dirname(path) == os.path.dirname(source)
            if beside and os.path.lexists(source) and not os.path.isdir(source):
                return True
        return False

    def _roots(self) -> set[tuple[str, bool]]:
        """(folder, recursive) pairs to observe."""
        return {
            (path, True) if os.path.isdir(path) else (os.path.dirname(path), False)
            for path in self.paths
        }

    def _ensure_watches(self) -> None:
        observer, handler = self._observer, self._handler
        if observer is None or handler is None:
            return
        wanted = self._roots()
        for key in [key for key in self._watches if key not in wanted]:
            observer.unschedule(self._watches.pop(key)[0])
        for root, recursive in sorted(wanted):
            try:
                inode = os.stat(root).st_ino
            except OSError:
                continue  # the snapshot reports it; watched once it exists
            current = self._watches.get((root, recursive))
            deleted = root in self._deleted
            self._deleted.discard(root)
            if current is not None and current[1] == inode and not deleted:
                continue
            if current is not None:
                with contextlib.suppress(KeyError):
                    observer.unschedule(current[0])
            try:
                watch = observer.schedule(handler, root, recursive=recursive)
            except OSError as error:
                log.warning(
                    "cannot watch a folder; changes there are seen at the next resync",
                    extra=fields(folder=root, reason=str(error)),
                )
                continue
            self._watches[(root, recursive)] = (watch, inode)
        self._watched_roots = frozenset(root for root, _ in self._watches)


class _Notifier(FileSystemEventHandler):
    def __init__(
        self,
        changed: Callable[[str], None],
        concerns: Callable[[str], bool],
        deleted: Callable[[str], None],
    ) -> None:
        self._changed = changed
        self._concerns = concerns
        self._deleted = deleted

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        path = os.fsdecode(event.src_path)
        if event.event_type == "deleted" and event.is_directory:
            self._deleted(path)  # maybe a watched folder itself: its watch has ended
        destination = os.fsdecode(getattr(event, "dest_path", "") or "")
        if self._concerns(path) or (destination and self._concerns(destination)):
            moved = f" to {destination}" if destination else ""
            self._changed(f"{event.event_type} {path}{moved}")


class KeepLastGood(ParseCache):
    """A `ParseCache` that, for a file that stops parsing (a half-written save, a typo),
    keeps the objects of its last good version and reports the error: the rest of the sources
    still apply, and that file's routes keep working until it is fixed. A file that vanishes
    between the folder listing and the read counts as deleted."""

    __slots__ = ("_good", "_reached", "_stale")

    def __init__(self) -> None:
        super().__init__()
        self._good: dict[str, LoadResult] = {}
        self._reached: set[str] = set()
        self._stale: set[str] = set()
        """Files served from their last good version, logged when they parse again."""

    def load_file(self, path: str) -> LoadResult:
        self._reached.add(path)
        try:
            result = super().load_file(path)
        except SourceError as error:
            if isinstance(error.__cause__, FileNotFoundError):
                return LoadResult((), ())
            raise
        if not any(problem.code == Code.MALFORMED_SOURCE for problem in result.problems):
            self._good[path] = result
            if path in self._stale:
                self._stale.discard(path)
                log.info("a stale source parses again: its objects are current",
                         extra=fields(event="source-recovered", source=path))  # fmt: skip
            return result
        good = self._good.get(path)
        if good is None:
            return result
        self._stale.add(path)
        name = path if path.isprintable() else shown(path)
        reason = "kept its objects as last read without errors, until it parses again"
        stale = Problem(Severity.WARNING, name, "", reason, Code.STALE_SOURCE)
        return LoadResult(good.manifests, (*result.problems, stale))

    def forget_unused(self) -> None:
        for path in self._good.keys() - self._reached:
            del self._good[path]
        self._stale &= self._reached
        self._reached.clear()
        super().forget_unused()
