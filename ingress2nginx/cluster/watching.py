"""Keeping one kind of object current from the API: the informer loop of ``watch --from-cluster``.

An `Informer` lists one kind in one scope (a namespace, or all), then watches from the list's
resourceVersion with bookmarks, so no change falls between the two. A watch that is quiet for
longer than `WatchTiming.idle_timeout` (no event and no bookmark: the API server sends a
bookmark about every minute) is presumed dead and replaced; one the server ends is resumed
from the last resourceVersion seen; one answered with 410 Gone (that version was compacted
away) is replaced by a fresh list, and the objects rebuilt from it. Every other failure is
logged and retried with exponential backoff, forever: during an outage the informer keeps the
last objects it saw and catches up by itself when the API is back. It never exits on an API
error.

An informer of an optional kind (the Gateway API's custom resources: ``versions`` given) reads
the first of its versions the cluster serves. When it serves none (404: the resource
definitions are not installed) the kind is simply empty: the informer counts as listed, says
so once, and lists again every `WatchTiming.absent_recheck` seconds, so resource definitions
installed later are picked up (and objects of ones removed are dropped). A kind our RBAC
does not let us list (403) before it was ever listed is treated the same way, with a
warning: the Ingresses keep being served while the grant is missing.

Events are read as raw JSON lines into the same plain dicts the file loader produces (see
connecting.py); caching.py assembles the informers into one snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client

from ingress2nginx.cluster.connecting import (
    API_ERRORS,
    ClusterConnection,
    Resource,
    describe,
    to_manifest,
)
from ingress2nginx.cluster.loading import Listing, list_resource
from ingress2nginx.core.backoff import Backoff
from ingress2nginx.core.objects import Manifest

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name) of an object within its kind."""


@dataclass(frozen=True, slots=True)
class WatchTiming:
    """Timeouts and delays of the watch loops (tests shorten them)."""

    idle_timeout: float = 90.0
    """Seconds without a byte (event or bookmark) after which a watch is presumed dead. The
    API server sends a bookmark about every minute to a watch that asks for them."""
    watch_seconds: int = 300
    """The server ends each watch after about this long (jittered by up to a fifth, as
    client-go does); it is then resumed from the last resourceVersion."""
    connect_timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    secret_refresh: float = 60.0
    """Seconds between two ``get``s of a referenced Secret (how soon a rotation is seen)."""
    absent_recheck: float = 60.0
    """Seconds between two lists of an optional kind the cluster does not serve (how soon
    resource definitions installed after start are seen)."""

    def backoff(self) -> Backoff:
        """Delays between retries of a failed list or watch, jittered (core/backoff.py)."""
        return Backoff(self.backoff_initial, self.backoff_max, jitter=0.2)


class Expired(Exception):
    """The resourceVersion a watch asked for is gone (410): list again."""


class WatchFailed(Exception):
    """The server sent an ERROR event other than 410."""


class NotServed(Exception):
    """An optional kind the cluster does not serve (404), or that we may not list (403)."""

    def __init__(self, reason: str, *, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.forbidden = forbidden


class Vanished(Exception):
    """The watch of an optional kind answered 404 (its resource definition went): list again."""


class Informer:
    """One kind in one scope (a namespace, or all), kept current in ``objects``."""

    def __init__(
        self,
        connection: ClusterConnection,
        resource: Resource,
        namespace: str | None,
        timing: WatchTiming,
        lock: threading.RLock,
        changed: Callable[[Resource, str], None],
        *,
        versions: Sequence[Resource] = (),
    ) -> None:
        self.resource = resource
        """What is read; for an optional kind, the version the cluster serves."""
        self.versions = tuple(versions)
        """An optional kind's versions, the preferred first; empty for a kind that must be
        served."""
        self.absent = ""
        """Why an optional kind is empty (not served, forbidden); empty while it is read."""
        self.namespace = namespace
        self.objects: dict[Key, Manifest] = {}
        """Current objects; read and replaced under the cache's lock."""
        self.listed = threading.Event()
        """Set once the first list has filled ``objects``."""
        self.watching = False
        self.last_error = ""
        self._connection = connection
        self._timing = timing
        self._lock = lock
        self._changed = changed
        self._stopping = threading.Event()
        self._response: Any = None
        self._version: str | None = None
        """Where the next watch starts: the last resourceVersion seen; None: list first."""
        self._received = False
        """Whether the current connection delivered anything (an event or a bookmark)."""

    @property
    def name(self) -> str:
        scope = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.resource.plural}{scope}"

    def run(self) -> None:
        """List and watch until `stop`; every failure is logged and retried."""
        backoff = self._timing.backoff()
        while not self._stopping.is_set():
            self._received = False
            try:
                if self._version is None:
                    self._relist()
                if self._watch():
                    backoff.reset()
                    continue
            except Expired:
                log.info(
                    "%s: resourceVersion %s expired (410 Gone); listing again",
                    self.name,
                    self._version,
                )
                self._version = None
                backoff.reset()  # the server answered: relist soon
            except Vanished:
                log.info("%s: no longer served (404); listing again", self.name)
                self._version = None
                backoff.reset()
            except NotServed as absent:
                self._not_served(absent)
                self._stopping.wait(self._timing.absent_recheck)
                continue
            except Exception as error:  # never exit on an API error: log, back off, retry
                if self._stopping.is_set():
                    break
                self._failed(error)
            if self._received:  # the connection was good for a while before it broke
                backoff.reset()
            self._stopping.wait(backoff.next())

    def stop(self) -> None:
        """Ask `run` to return, interrupting a watch that is waiting for data."""
        self._stopping.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()

    def _failed(self, error: BaseException) -> None:
        reason = describe(error)
        if isinstance(error, (*API_ERRORS, WatchFailed)):
            log.warning("%s: %s; keeping the last state, retrying", self.name, reason)
        else:
            log.exception("%s: unexpected error; keeping the last state, retrying", self.name)
        self.last_error = reason

    def _relist(self) -> None:
        listing = self._list()
        if self.absent:
            log.info("%s: served now; reading it", self.name)
            self.absent = ""
        fresh = {manifest.key: manifest for manifest in listing.manifests}
        with self._lock:
            old, self.objects = self.objects, fresh
        first = not self.listed.is_set()
        self.listed.set()
        self._version = listing.resource_version
        if first or _differs(old, fresh):
            self._changed(self.resource, f"{self.name} {'listed' if first else 'listed again'}")

    def _list(self) -> Listing:
        """The list of `resource`; of an optional kind, of the first version served."""
        if not self.versions:
            return list_resource(self._connection, self.resource, self.namespace)
        for resource in self.versions:
            try:
                listing = list_resource(self._connection, resource, self.namespace)
            except client.ApiException as error:
                if error.status == 404:
                    continue
                if error.status == 403 and (self.absent or not self.listed.is_set()):
                    reason = f"may not be listed ({describe(error)})"
                    raise NotServed(reason, forbidden=True) from error
                raise
            self.resource = resource
            return listing
        raise NotServed("not served by this cluster (no such resource definition)")

    def _not_served(self, absent: NotServed) -> None:
        """An optional kind is absent: no objects, listed (empty); said once per reason."""
        with self._lock:
            old, self.objects = self.objects, {}
        first = not self.listed.is_set()
        self.listed.set()
        self._version, self.last_error = None, ""
        reason = str(absent)
        if reason != self.absent:
            level = logging.WARNING if absent.forbidden else logging.INFO
            recheck = self._timing.absent_recheck
            log.log(level, "%s: %s; none read, looking again every %gs", self.name, reason, recheck)
            self.absent = reason
        if first or old:
            self._changed(self.resource, f"{self.name} {'absent' if first else 'gone'}")

    def _watch(self) -> bool:
        """Watch from the last resourceVersion seen until the stream ends; whether to reconnect
        at once (something arrived, or the connection was presumed dead)."""
        seconds = int(self._timing.watch_seconds * random.uniform(1.0, 1.2))
        try:
            query = {
                "watch": True,
                "resourceVersion": self._version,
                "allowWatchBookmarks": True,
                "timeoutSeconds": seconds,
            }
            timeout = (self._timing.connect_timeout, self._timing.idle_timeout)
            response = self._connection.call(self.resource, self.namespace, query, timeout)
        except client.ApiException as error:
            if error.status == 410:
                raise Expired from error
            if error.status == 404 and self.versions:
                raise Vanished from error
            raise
        self._response, self.watching = response, True
        if self.last_error:
            log.info("%s: watching again", self.name)
            self.last_error = ""
        try:
            if self._stopping.is_set():
                return False
            for line in _lines(response):
                self._apply(json.loads(line))
                self._received = True
        except urllib3.exceptions.ReadTimeoutError:  # no event, no bookmark: presumed dead
            idle = self._timing.idle_timeout
            log.info("%s: nothing received for %gs; reconnecting", self.name, idle)
            return True
        finally:
            self._response, self.watching = None, False
            response.close()  # a cut stream may hold unread bytes: never reuse its connection
            response.release_conn()
        return self._received

    def _apply(self, event: Any) -> None:
        """Apply one watch event to ``objects`` and remember the resourceVersion it carries."""
        kind = event.get("type") if isinstance(event, dict) else None
        body = event.get("object") if isinstance(event, dict) else None
        if not isinstance(body, dict):
            raise WatchFailed(f"malformed watch event of type {kind!r}")
        if kind == "ERROR":
            if body.get("code") == 410:
                raise Expired
            raise WatchFailed(f"{body.get('code')} {body.get('reason')}: {body.get('message')}")
        metadata = body.get("metadata")
        found = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
        if kind != "BOOKMARK":
            manifest = to_manifest(body, self.resource)
            if manifest is not None:
                with self._lock:
                    if kind == "DELETED":
                        self.objects.pop(manifest.key, None)
                    else:
                        self.objects[manifest.key] = manifest
                self._changed(self.resource, f"{manifest.ref} {str(kind).lower()}")
        if isinstance(found, str) and found:
            self._version = found


def _lines(response: Any) -> Iterator[bytes]:
    """The JSON lines of a watch stream, however the chunks cut them."""
    pending = b""
    for chunk in response.stream(65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from (line for line in lines if line.strip())
    if pending.strip():
        yield pending


def _differs(old: dict[Key, Manifest], new: dict[Key, Manifest]) -> bool:
    if old.keys() != new.keys():
        return True
    return any(resource_version(old[key]) != resource_version(new[key]) for key in new)


def resource_version(manifest: Manifest) -> object:
    return manifest.metadata.get("resourceVersion")
