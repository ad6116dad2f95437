"""Reading Kubernetes objects from files, folders and stdin into `Manifest` records.

This is the edge where untrusted text enters. Its jobs: find the files a SOURCE names (a file,
a folder walked recursively, ``-`` for stdin), have parsing.py turn their text into
documents (multi-document YAML, JSON), unwrap ``List`` objects, keep the kinds this
program reads and convert legacy Ingresses to v1 so later stages see one shape. Bad text never
raises: each malformed document becomes a `Problem` naming ``file:line`` and only that document
is lost. A source that cannot be read at all raises `SourceError` (watch mode then keeps its
last good config), or, for the one-shot commands (``unreadable="report"``), is a `Problem`
like a malformed document, and the other sources are still read.

Folders are walked by walking.py, and each file is read once however many links lead to it
(by real path), so a ConfigMap volume's ``app.yaml -> ..data/app.yaml`` is read once, under
its visible name. The one-shot commands have their files parsed by worker processes first
(pooling.py); the result is the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, SourceError, shown
from ingress2nginx.core.objects import CLUSTER_SCOPED, KINDS, Manifest
from ingress2nginx.sources.converting import INGRESS_V1, to_v1_ingress, v1_fields
from ingress2nginx.sources.parsing import decode, parse_documents
from ingress2nginx.sources.pooling import parse_in_workers
from ingress2nginx.sources.walking import os_reason, printable, source_files

STDIN = "-"
"""The SOURCE that means standard input."""

STDIN_NAME = "<stdin>"
"""How standard input is named in origins and problems."""

API_VERSIONS: Mapping[str, frozenset[str]] = {
    "Ingress": frozenset({INGRESS_V1, "networking.k8s.io/v1beta1", "extensions/v1beta1"}),
    "IngressClass": frozenset({"networking.k8s.io/v1", "networking.k8s.io/v1beta1"}),
    "Service": frozenset({"v1"}),
    "Endpoints": frozenset({"v1"}),
    "Secret": frozenset({"v1"}),
    "EndpointSlice": frozenset({"discovery.k8s.io/v1"}),
    "Namespace": frozenset({"v1"}),
    "GatewayClass": frozenset({"gateway.networking.k8s.io/v1"}),
    "Gateway": frozenset({"gateway.networking.k8s.io/v1"}),
    "HTTPRoute": frozenset({"gateway.networking.k8s.io/v1"}),
    "GRPCRoute": frozenset({"gateway.networking.k8s.io/v1"}),
    "ReferenceGrant": frozenset(
        {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"}
    ),
}
"""apiVersions read for each kind. The same kind in another API group (a Knative ``Service``)
is another kind and skipped silently; an unsupported version of a right group is reported."""

_MAX_LIST_NESTING = 8

SOURCE_FAILURES = frozenset({Code.MALFORMED_SOURCE, Code.UNREADABLE_SOURCE, Code.SECRET})
"""Problem codes meaning "part of the input could not be read or parsed" (exit code 3): a
malformed document, a file or folder that cannot be read, a Secret the API refuses."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the sources held: the objects read, and what was wrong with the rest."""

    manifests: tuple[Manifest, ...]
    """Objects of the kinds in `objects.KINDS`, in source order; Ingresses already v1."""
    problems: tuple[Problem, ...]
    """Malformed documents (code ``malformed-source``) and unusable objects."""


def load_sources(
    sources: Sequence[str],
    stdin: TextIO | None = None,
    *,
    cache: ParseCache | None = None,
    unreadable: Literal["raise", "report"] = "raise",
    workers: int = 1,
) -> LoadResult:
    """Read every SOURCE (file, folder or ``-``) in order; each file once.

    With a `ParseCache` (watch mode), files unchanged since the last load are not parsed again.
    Without one, up to `workers` processes parse the files first (pooling.py).
    A source that does not exist or cannot be read raises `SourceError`, or with
    ``unreadable="report"`` is an ``unreadable-source`` problem and the rest is still read.
    """
    found = _Found()
    seen: set[str] = set()
    walked: set[str] = set()
    load_file: Callable[[str], LoadResult] = _load_file if cache is None else cache.load_file
    if cache is None and workers > 1:
        load_file = _parsed_ahead(sources, workers)

    def failed(error: SourceError) -> None:
        if unreadable == "raise":
            raise error
        found.problems.append(
            Problem(Severity.ERROR, error.location, "", error.reason, Code.UNREADABLE_SOURCE)
        )

    for source in sources:
        try:
            _load_source(source, stdin, load_file, found, seen, walked, failed)
        except SourceError as error:  # the source itself, or a folder in it
            failed(error)
    if cache is not None:
        cache.forget_unused()
    return found.result()


def _load_source(
    source: str,
    stdin: TextIO | None,
    load_file: Callable[[str], LoadResult],
    found: _Found,
    seen: set[str],
    walked: set[str],
    failed: Callable[[SourceError], None],
) -> None:
    """One SOURCE into `found`; a file that cannot be read goes to `failed`, and the walk
    goes on."""
    if source == STDIN:
        if STDIN not in seen:
            seen.add(STDIN)
            found.add(_load_stdin(sys.stdin if stdin is None else stdin))
        return
    for path in source_files(source, walked):
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            try:
                found.add(load_file(path))
            except SourceError as error:
                failed(error)


def _parsed_ahead(sources: Sequence[str], workers: int) -> Callable[[str], LoadResult]:
    """A `_load_file` that hands out the files of `sources` parsed ahead by worker processes
    (parsing any file they did not parse itself)."""
    paths: dict[str, str] = {}  # by real path: each file once
    walked: set[str] = set()
    for source in sources:
        if source == STDIN:
            continue
        try:
            for path in source_files(source, walked):
                paths.setdefault(os.path.realpath(path), path)
        except SourceError:
            continue  # reported when the loader walks the sources itself
    parsed = parse_in_workers(list(paths.values()), _load_file_or_error, workers)

    def load_file(path: str) -> LoadResult:
        result = parsed.pop(path, None)
        if result is None:
            return _load_file(path)
        if isinstance(result, SourceError):
            raise result
        return result

    return load_file


def _load_file_or_error(path: str) -> LoadResult | SourceError:
    """`_load_file` in a worker process: its error comes back as a value."""
    try:
        return _load_file(path)
    except SourceError as error:
        return error


class ParseCache:
    """Files parsed by earlier loads, so that one edited file among thousands costs one parse.

    A file is parsed again when its stat (device, inode, size, mtime, ctime) changes, which a
    ConfigMap's ``..data`` swap also does. Files a load did not reach are forgotten. Manifests
    are shared between loads: their bodies must never be mutated (no stage does).
    """

    __slots__ = ("_files", "_used")

    def __init__(self) -> None:
        self._files: dict[str, tuple[tuple[int, ...], LoadResult]] = {}
        self._used: set[str] = set()

    def load_file(self, path: str) -> LoadResult:
        """The objects in one file, parsed now or taken from an earlier load."""
        stamp = _stamp(path)
        self._used.add(path)
        cached = self._files.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        result = _load_file(path)
        self._files[path] = (stamp, result)
        return result

    def forget_unused(self) -> None:
        """Drop files the loads since the last call did not reach."""
        for path in self._files.keys() - self._used:
            del self._files[path]
        self._used.clear()


def load_text(text: str, source_name: str) -> LoadResult:
    """Parse one source's text; JSON when the name ends in ``.json`` or the text starts with
    ``{`` or ``[``, else a YAML stream. Never raises for bad text."""
    found = _Found()
    _load_text(text, source_name, found)
    return found.result()


@dataclass(slots=True)
class _Found:
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, result: LoadResult) -> None:
        self.manifests.extend(result.manifests)
        self.problems.extend(result.problems)

    def malformed(self, location: str, reason: str) -> None:
        self.problems.append(
            Problem(Severity.ERROR, location, "", printable(reason), Code.MALFORMED_SOURCE)
        )

    def unusable(self, origin: str, field_path: str, reason: str, code: Code) -> None:
        self.problems.append(Problem(Severity.ERROR, origin, field_path, reason, code))

    def result(self) -> LoadResult:
        return LoadResult(tuple(self.manifests), tuple(self.problems))


# --- reading -------------------------------------------------------------------------------


def _load_file(path: str) -> LoadResult:
    found = _Found()
    _load_bytes(_read_file(path), path, found)
    return found.result()


def _stamp(path: str) -> tuple[int, ...]:
    try:
        status = os.stat(path)
    except OSError as error:
        raise SourceError(printable(path), os_reason(error)) from error
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as error:
        raise SourceError(printable(path), os_reason(error)) from error


def _load_stdin(stdin: TextIO) -> LoadResult:
    """Stdin's bytes when it has some, so encodings are handled as for files."""
    buffer = getattr(stdin, "buffer", None)
    try:
        data: bytes | str = buffer.read() if buffer is not None else stdin.read()
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(STDIN_NAME, str(error)) from error
    found = _Found()
    if isinstance(data, bytes):
        _load_bytes(data, STDIN_NAME, found)
    else:
        _load_text(data, STDIN_NAME, found)
    return found.result()


def _load_bytes(data: bytes, path: str, found: _Found) -> None:
    name = printable(path)
    try:
        text = decode(data)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        found.malformed(f"{name}:{line}", f"could not decode text: {error.reason}")
        return
    _load_text(text, name, found)


def _load_text(text: str, name: str, found: _Found) -> None:
    documents, malformed = parse_documents(text, name)
    for origin, document in documents:
        _add_document(document, origin, found, 0)
    for location, reason in malformed:
        found.malformed(location, reason)


# --- objects -------------------------------------------------------------------------------


def _add_document(document: object, origin: str, found: _Found, depth: int) -> None:
    """Add the objects of one parsed document: an object, a List, or an array of them."""
    if depth > _MAX_LIST_NESTING:
        return
    if isinstance(document, list):
        for item in document:
            _add_document(item, origin, found, depth + 1)
        return
    if not isinstance(document, dict):  # parsers build dicts; a dict check is cheap
        return
    kind = document.get("kind")
    if not isinstance(kind, str):
        return
    if kind.endswith("List") and isinstance(document.get("items"), list):
        for item in _list_items(document, kind):
            _add_document(item, origin, found, depth + 1)
    elif kind in KINDS:
        _add_object(document, kind, origin, found)


def _list_items(document: Mapping[str, Any], kind: str) -> Iterator[object]:
    """A List's items; a typed list (``IngressList`` from the API) omits its items' kind and
    apiVersion, so they are filled in from the list."""
    item_kind = kind.removesuffix("List")
    for item in document["items"]:
        if item_kind and isinstance(item, dict) and "kind" not in item:
            item = {"apiVersion": document.get("apiVersion"), "kind": item_kind, **item}
        yield item


def _add_object(document: Mapping[str, Any], kind: str, origin: str, found: _Found) -> None:
    api_version = document.get("apiVersion")
    if not isinstance(api_version, str):
        return
    if api_version not in API_VERSIONS[kind]:
        if _api_group(api_version) in {_api_group(known) for known in API_VERSIONS[kind]}:
            reason = f"{kind} in apiVersion {shown(api_version)} is not supported; skipped"
            found.problems.append(
                Problem(
                    Severity.WARNING, origin, "apiVersion", reason, Code.UNSUPPORTED_API_VERSION
                )
            )
        return
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    if not isinstance(name, str):
        reason = f"{kind} without a string metadata.name; skipped"
        found.unusable(origin, "metadata.name", reason, Code.INVALID_OBJECT)
        return
    namespace = _namespace(kind, metadata)
    if namespace is None:
        reason = f"{kind} whose metadata.namespace is not a string; skipped"
        found.unusable(origin, "metadata.namespace", reason, Code.INVALID_OBJECT)
        return
    if kind == "Ingress" and api_version != INGRESS_V1:
        converted = to_v1_ingress(document)
        legacy = v1_fields(document)
        found.manifests.append(Manifest(kind, namespace, name, converted, origin, legacy))
        return
    found.manifests.append(Manifest(kind, namespace, name, document, origin))


def _namespace(kind: str, metadata: Mapping[str, Any]) -> str | None:
    """The object's namespace: ``default`` when unset, empty when cluster-scoped, None when
    not a string."""
    if kind in CLUSTER_SCOPED:
        return ""
    namespace = metadata.get("namespace")
    if namespace is None or namespace == "":
        return "default"
    return namespace if isinstance(namespace, str) else None


def _api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]
