"""A small Kubernetes API server emulator over real HTTP on loopback, for ``--from-cluster`` tests.

The real ``kubernetes`` client talks to it through a kubeconfig file (``KubeApi.kubeconfig``),
so the tests exercise the same HTTP, JSON and watch protocol a cluster speaks:

- list (``GET /apis/networking.k8s.io/v1/ingresses``, namespaced or not) with ``limit`` and
  ``continue``, items without ``kind``/``apiVersion`` as the API server sends them;
- get by name (``GET /api/v1/namespaces/NS/secrets/NAME``), 404 with a ``Status`` when absent;
- watch (``?watch=1&resourceVersion=RV``): chunked JSON lines ``{"type", "object"}``, one
  global resourceVersion counter, ``BOOKMARK`` events when ``allowWatchBookmarks`` is set,
  ``timeoutSeconds`` honoured, and an ``ERROR`` event with a 410 ``Status`` when the
  resourceVersion asked for is older than the last compaction;
- field selectors ``metadata.name=`` and ``metadata.namespace=``;
- writes, for the status publishers: create (``POST``), replace (``PUT``, refused with
  409 when the resourceVersion is not the current one) and merge patch (``PATCH``, refused with
  409 when it names a ``metadata.resourceVersion`` that is not the current one; on the
  ``status`` subresource only ``status`` changes, as for the Gateway API's custom objects);
  ``metadata.generation``, 1 at creation and bumped when ``spec`` changes; Leases
  (``coordination.k8s.io/v1``) for its leader election; Events
  (``v1``) the watcher posts on Ingresses it rejects.

Gateway API kinds are served too (ReferenceGrant at ``v1beta1`` and ``v1``); ``uninstalled``
and ``unserved_versions`` make kinds or versions answer 404, as a cluster without (those
versions of) their resource definitions does.

A test changes the world with ``apply``/``delete``, and breaks it with ``drop_watches`` (cut
every open watch), ``compact`` (history before now is gone: old resourceVersions answer 410),
``go_down``/``come_back`` (connections refused, then served again on the same port) and
``forbid`` (403 on paths under a prefix). ``requests`` records every request received.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from harness import LOOPBACK

Obj = dict[str, Any]

TOKEN = "emulator-token"


@dataclass(frozen=True)
class Kind:
    """A resource the emulator serves."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool = True
    also_served: tuple[str, ...] = ()
    """Other API versions the same objects are served at (as a CRD with several versions)."""

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


KINDS = {
    kind.kind: kind
    for kind in (
        Kind("Ingress", "networking.k8s.io/v1", "ingresses"),
        Kind("IngressClass", "networking.k8s.io/v1", "ingressclasses", namespaced=False),
        Kind("Service", "v1", "services"),
        Kind("Endpoints", "v1", "endpoints"),
        Kind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices"),
        Kind("Secret", "v1", "secrets"),
        Kind("Lease", "coordination.k8s.io/v1", "leases"),
        Kind("Event", "v1", "events"),
        Kind("Namespace", "v1", "namespaces", namespaced=False),
        Kind("GatewayClass", "gateway.networking.k8s.io/v1", "gatewayclasses", namespaced=False),
        Kind("Gateway", "gateway.networking.k8s.io/v1", "gateways"),
        Kind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes"),
        Kind("GRPCRoute", "gateway.networking.k8s.io/v1", "grpcroutes"),
        Kind(
            "ReferenceGrant",
            "gateway.networking.k8s.io/v1beta1",
            "referencegrants",
            also_served=("gateway.networking.k8s.io/v1",),
        ),
    )
}


@dataclass(frozen=True)
class Recorded:
    """One request as received: method, path, query parameters (first value of each)."""

    method: str
    path: str
    query: Mapping[str, str]
    authorization: str

    @property
    def watch(self) -> bool:
        return self.query.get("watch") in ("1", "true")


@dataclass(frozen=True)
class _Event:
    version: int
    kind: Kind
    type: str
    object: Obj


class KubeApi:
    """The emulated API server; use as a context manager."""

    def __init__(self, bookmark_interval: float = 0.2) -> None:
        self.bookmark_interval = bookmark_interval
        self.requests: list[Recorded] = []
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {kind: {} for kind in KINDS}
        self._events: list[_Event] = []
        self._version = 100
        self._compacted = 0
        self._forbidden: list[str] = []
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._port = 0
        self._generation = 0  # bumped by drop_watches/go_down: watches of older ones end
        self._gone_answers = 0
        self.gone_as_http_status = False
        """Answer an expired watch with an HTTP 410 instead of an ERROR event in a 200."""
        self.uninstalled: set[str] = set()
        """Kinds answered with 404, as a cluster without their resource definitions does."""
        self.unserved_versions: set[str] = set()
        """API versions (``gateway.networking.k8s.io/v1beta1``) answered with 404 for every
        kind, as a cluster whose resource definitions do not serve that version."""

    # -- lifecycle

    def start(self) -> Self:
        self._server = _Server(self, self._port)
        self._port = self._server.server_address[1]
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        with self._changed:
            self._generation += 1
            self._changed.notify_all()
        if server is not None:
            server.shutdown()
            server.cut_connections()
            server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}"

    def kubeconfig(self, directory: Path, namespace: str | None = None) -> Path:
        """Write a kubeconfig for this server (token auth) into `directory`; its path."""
        context: Obj = {"cluster": "emulator", "user": "emulator"}
        if namespace:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": TOKEN}}],
            "contexts": [{"name": "emulator", "context": context}],
            "current-context": "emulator",
        }
        path = directory / "kubeconfig"
        path.write_text(json.dumps(config))
        return path

    # -- the world

    def apply(self, *objects: Obj) -> None:
        """Create or replace objects (each gets a new resourceVersion); one event each."""
        for obj in objects:
            kind = KINDS[obj["kind"]]
            stored = copy.deepcopy(obj)
            metadata = stored.setdefault("metadata", {})
            if kind.namespaced:
                metadata.setdefault("namespace", "default")
            metadata.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            key = (metadata.get("namespace", ""), metadata["name"])
            with self._changed:
                previous = self._objects[kind.kind].get(key)
                event = "MODIFIED" if previous is not None else "ADDED"
                metadata["generation"] = _generation(previous, stored)
                self._version += 1
                metadata["resourceVersion"] = str(self._version)
                self._objects[kind.kind][key] = stored
                self._record(kind, event, stored)

    def delete(self, kind_name: str, namespace: str, name: str) -> None:
        kind = KINDS[kind_name]
        with self._changed:
            stored = self._objects[kind.kind].pop((namespace if kind.namespaced else "", name))
            self._version += 1
            stored = {**stored, "metadata": {**stored["metadata"]}}
            stored["metadata"]["resourceVersion"] = str(self._version)
            self._record(kind, "DELETED", stored)

    def get(self, kind_name: str, namespace: str, name: str) -> Obj | None:
        """An object as stored (a copy), or None."""
        found = self._get(KINDS[kind_name], namespace, name)
        return copy.deepcopy(found) if found is not None else None

    def objects(self, kind_name: str) -> list[Obj]:
        """Every stored object of a kind (copies), by namespace and name."""
        with self._changed:
            return [copy.deepcopy(obj) for _, obj in sorted(self._objects[kind_name].items())]

    def writes(self) -> list[Recorded]:
        """Every request that changed something (POST, PUT, PATCH)."""
        return [request for request in self.requests if request.method != "GET"]

    def _create(self, kind: Kind, namespace: str | None, body: Obj) -> tuple[int, Obj]:
        metadata = body.get("metadata") or {}
        key = (namespace or "" if kind.namespaced else "", metadata.get("name", ""))
        if key in self._objects[kind.kind]:
            return 409, _status(409, "AlreadyExists", f'{kind.plural} "{key[1]}" already exists')
        self.apply({**body, "kind": kind.kind, "metadata": {**metadata, "namespace": key[0]}})
        return 201, self._objects[kind.kind][key]

    def _replace(self, kind: Kind, namespace: str, name: str, body: Obj) -> tuple[int, Obj]:
        current = self._get(kind, namespace, name)
        if current is None:
            return 404, _status(404, "NotFound", f'{kind.plural} "{name}" not found')
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted != current["metadata"]["resourceVersion"]:
            return 409, _status(409, "Conflict", "the object has been modified")
        self.apply({**body, "kind": kind.kind})
        return 200, self._objects[kind.kind][(namespace if kind.namespaced else "", name)]

    def _patch(
        self, kind: Kind, namespace: str, name: str, patch: Obj, status_only: bool = False
    ) -> tuple[int, Obj]:
        current = self._get(kind, namespace, name)
        if current is None:
            return 404, _status(404, "NotFound", f'{kind.plural} "{name}" not found')
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != current["metadata"]["resourceVersion"]:
            return 409, _status(409, "Conflict", "the object has been modified")
        if status_only:
            patch = {"status": patch["status"]} if "status" in patch else {}
        self.apply(_merge(copy.deepcopy(current), patch))
        return 200, self._objects[kind.kind][(namespace if kind.namespaced else "", name)]

    def _record(self, kind: Kind, event_type: str, obj: Obj) -> None:
        self._events.append(_Event(self._version, kind, event_type, obj))
        self._changed.notify_all()

    # -- trouble

    def drop_watches(self) -> None:
        """Cut every open watch connection (the client sees the stream end abruptly)."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()
        if self._server is not None:
            self._server.cut_connections(watches_only=True)

    def compact(self) -> None:
        """Forget history: a watch from any resourceVersion before now gets 410 Gone."""
        with self._changed:
            self._version += 1
            self._compacted = self._version

    def go_down(self) -> None:
        """Stop listening and cut every connection: clients get "connection refused"."""
        self.close()

    def come_back(self) -> None:
        """Listen again on the same port, with the same objects."""
        self.start()

    def forbid(self, path_prefix: str) -> None:
        """Answer 403 to every request whose path starts with `path_prefix`."""
        self._forbidden.append(path_prefix)

    def allow(self, path_prefix: str) -> None:
        """Undo `forbid`."""
        self._forbidden.remove(path_prefix)

    @property
    def gone_answers(self) -> int:
        """How many watches were answered 410 Gone."""
        return self._gone_answers

    @property
    def open_watches(self) -> int:
        server = self._server
        return 0 if server is None else len(server.watch_connections)

    def wait_for_watches(self, count: int, timeout: float = 5.0) -> None:
        """Block until at least `count` watches are open (bounded)."""
        deadline = time.monotonic() + timeout
        while self.open_watches < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.open_watches} watches open, wanted {count}")
            time.sleep(0.02)

    def requests_for(self, plural: str) -> list[Recorded]:
        return [r for r in self.requests if f"/{plural}" in r.path]

    # -- serving (called by the handler)

    def _check(self, path: str) -> tuple[int, str] | None:
        if any(path.startswith(prefix) for prefix in self._forbidden):
            return 403, f"forbidden: cannot access {path}"
        return None

    def _list(self, kind: Kind, namespace: str | None, query: Mapping[str, str]) -> Obj:
        with self._changed:
            version = self._version
            items = [
                _without_type(obj)
                for key, obj in sorted(self._objects[kind.kind].items())
                if _selected(obj, namespace, query)
            ]
        offset = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0) or len(items) or 1
        page = items[offset : offset + limit]
        metadata: Obj = {"resourceVersion": str(version)}
        if offset + limit < len(items):
            metadata["continue"] = str(offset + limit)
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": metadata,
            "items": page,
        }

    def _expired(self, query: Mapping[str, str]) -> bool:
        since = int(query.get("resourceVersion") or 0)
        with self._changed:
            expired = bool(since) and since < self._compacted
            self._gone_answers += expired
        return expired

    def _get(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        with self._changed:
            return self._objects[kind.kind].get((namespace if kind.namespaced else "", name))

    def _watch_events(
        self, kind: Kind, namespace: str | None, query: Mapping[str, str]
    ) -> Iterator[Obj]:
        """The events a watch sends, as they happen, until it times out or is cut."""
        since = int(query.get("resourceVersion") or 0)
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 3600)
        if self._expired(query):
            yield _gone(since)
            return
        with self._changed:
            generation = self._generation
            initial = [] if since else list(self._objects[kind.kind].values())
            since = since or self._version
        for obj in initial:
            if _selected(obj, namespace, query):
                yield {"type": "ADDED", "object": obj}
        next_bookmark = time.monotonic() + self.bookmark_interval
        while time.monotonic() < deadline:
            with self._changed:
                if generation != self._generation:
                    return
                pending = [e for e in self._events if e.version > since and e.kind == kind]
                if pending:
                    since = pending[-1].version
                elif bookmarks and time.monotonic() >= next_bookmark:
                    pending = []
                    yield _bookmark(kind, self._version)
                    next_bookmark = time.monotonic() + self.bookmark_interval
                    continue
                else:
                    wait = min(next_bookmark, deadline) - time.monotonic()
                    self._changed.wait(max(0.01, wait))
                    continue
            for event in pending:
                if _selected(event.object, namespace, query):
                    yield {"type": event.type, "object": event.object}


def _merge(target: Obj, patch: Obj) -> Obj:
    """JSON merge patch (RFC 7386): null deletes, objects merge, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _generation(previous: Obj | None, new: Obj) -> int:
    """metadata.generation as the API server keeps it: 1 when created, +1 per spec change."""
    if previous is None:
        return int(new["metadata"].get("generation") or 1)
    old = int(previous["metadata"].get("generation") or 1)
    return old + 1 if previous.get("spec") != new.get("spec") else old


def _without_type(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _selected(obj: Obj, namespace: str | None, query: Mapping[str, str]) -> bool:
    metadata = obj["metadata"]
    if namespace is not None and metadata.get("namespace") != namespace:
        return False
    for term in filter(None, query.get("fieldSelector", "").split(",")):
        field, _, value = term.partition("=")
        if metadata.get(field.removeprefix("metadata.")) != value:
            return False
    return True


def _gone(version: int) -> Obj:
    status = _status(410, "Expired", f"too old resource version: {version}")
    return {"type": "ERROR", "object": status}


def _bookmark(kind: Kind, version: int) -> Obj:
    metadata = {"resourceVersion": str(version)}
    bookmark = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": metadata}
    return {"type": "BOOKMARK", "object": bookmark}


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api: KubeApi, port: int) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.watch_connections: set[socket.socket] = set()
        super().__init__((LOOPBACK, port), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = LOOPBACK, self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)

    def cut_connections(self, watches_only: bool = False) -> None:
        for connection in list(self.watch_connections if watches_only else self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        self.server.watch_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests look at ``KubeApi.requests``."""

    def do_GET(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        recorded = Recorded("GET", url.path, query, self.headers.get("Authorization", ""))
        api.requests.append(recorded)
        denied = api._check(url.path)
        if denied is not None:
            self._send(denied[0], _status(denied[0], "Forbidden", denied[1]))
            return
        route = _route(url.path)
        if route is None:
            self._send(404, _status(404, "NotFound", f"the server could not find {url.path}"))
            return
        kind, namespace, name = route
        if kind.kind in api.uninstalled or _version(url.path) in api.unserved_versions:
            self._send(404, _status(404, "NotFound", f"the server could not find {url.path}"))
            return
        if name is not None:
            found = api._get(kind, namespace or "", name)
            if found is None:
                message = f'{kind.plural} "{name}" not found'
                self._send(404, _status(404, "NotFound", message))
            else:
                self._send(200, found)
        elif recorded.watch and api.gone_as_http_status and api._expired(query):
            self._send(410, _gone(int(query["resourceVersion"]))["object"])
        elif recorded.watch:
            self._stream(api._watch_events(kind, namespace, query))
        else:
            self._send(200, api._list(kind, namespace, query))

    def do_POST(self) -> None:
        self._write("POST")

    def do_PUT(self) -> None:
        self._write("PUT")

    def do_PATCH(self) -> None:
        self._write("PATCH")

    def _write(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        api.requests.append(Recorded(method, url.path, {}, self.headers.get("Authorization", "")))
        denied = api._check(url.path)
        if denied is not None:
            self._send(denied[0], _status(denied[0], "Forbidden", denied[1]))
            return
        path = url.path.removesuffix("/status")
        route = _route(path)
        if route is None:
            self._send(404, _status(404, "NotFound", f"the server could not find {url.path}"))
            return
        kind, namespace, name = route
        if method == "POST" and name is None:
            code, answer = api._create(kind, namespace, body)
        elif method == "PUT" and name is not None:
            code, answer = api._replace(kind, namespace or "", name, body)
        elif method == "PATCH" and name is not None:
            status_only = url.path.endswith("/status")
            code, answer = api._patch(kind, namespace or "", name, body, status_only)
        else:
            code, answer = 405, _status(405, "MethodNotAllowed", f"{method} {url.path}")
        self._send(code, answer)

    def _send(self, code: int, body: Obj) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, events: Iterator[Obj]) -> None:
        self.server.watch_connections.add(self.connection)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        with contextlib.suppress(OSError):
            for event in events:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        self.close_connection = True


def _version(path: str) -> str:
    """The API version of a path (``v1``, ``networking.k8s.io/v1``)."""
    parts = path.strip("/").split("/")
    return "v1" if parts[:1] == ["api"] else "/".join(parts[1:3])


def _route(path: str) -> tuple[Kind, str | None, str | None] | None:
    """(kind, namespace or None for all, name or None for a collection) of an API path."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        api_version, rest = "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not 1 <= len(rest) <= 2:
        return None
    for kind in KINDS.values():
        served = (kind.api_version, *kind.also_served)
        if api_version in served and kind.plural == rest[0]:
            if namespace is not None and not kind.namespaced:
                return None
            return kind, namespace, rest[1] if len(rest) == 2 else None
    return None
