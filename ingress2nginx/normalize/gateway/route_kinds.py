"""HTTPRoutes and GRPCRoutes side by side: where gRPC can be served, and which of two
overlapping routes of different kinds is.

- gRPC needs HTTP/2. HTTPS listeners negotiate it (ALPN). On a plain HTTP listener a gRPC
  client speaks h2c with prior knowledge, which nginx serves beside HTTP/1.1 on one port from
  1.25.1 on (``http2 on;``: ``--nginx-version``; ``watch`` asks ``nginx -v``). The older
  ``listen ... http2`` makes the whole port h2c-only, breaking HTTP/1.1 clients; so for an
  older nginx a GRPCRoute is not served on plain HTTP listeners (reported), only on HTTPS ones.
- A listener holding an HTTPRoute and a GRPCRoute whose hostnames overlap serves exactly one
  of them, as the GRPCRoute specification asks: the oldest (creationTimestamp), then the first
  by namespace/name; the other is reported and not served there. nginx serves a host's
  listeners on 80 and 443 with one server, so two routes of different kinds on one host of one
  server are settled the same way, even through different listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.gateway.attachment import Attachment
from ingress2nginx.normalize.gateway.grpc_routes import GRPC_ROUTE
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST, matches
from ingress2nginx.normalize.gateway.selection import Listener

Attached = tuple[Manifest, list[Attachment]]


@dataclass(slots=True)
class _Settling:
    plain_grpc: bool
    server_port: Callable[[Listener], int | None]
    problems: list[Problem]
    accepted: list[tuple[Manifest, Attachment]] = field(default_factory=list)
    reported: set[tuple[int, int]] = field(default_factory=set)

    def keeps(self, route: Manifest, attachment: Attachment) -> bool:
        """Whether the attachment is served (reported when not)."""
        if route.kind == GRPC_ROUTE and _plain(attachment) and not self.plain_grpc:
            reason = (
                "gRPC on a plain HTTP listener needs h2c beside HTTP/1.1, which nginx serves"
                " from 1.25.1 on (--nginx-version); not served on this listener"
            )
            self._report(route, attachment, reason, Code.LISTENER)
            return False
        rival = next(
            (
                other
                for other, theirs in self.accepted
                if other.kind != route.kind and self._overlap(attachment, theirs)
            ),
            None,
        )
        if rival is not None:
            reason = (
                f"its hostnames overlap those of {rival.kind} {rival.namespace}/{rival.name},"
                " which is older (or first by name) and is served there; not served there"
            )
            self._report(route, attachment, reason, Code.CONFLICT)
            return False
        self.accepted.append((route, attachment))
        return True

    def _overlap(self, mine: Attachment, theirs: Attachment) -> bool:
        """Hostnames in common on one listener, or one host on the same servers."""
        if _listener_key(mine) == _listener_key(theirs):
            return any(_meet(a, b) for a in mine.hosts for b in theirs.hosts)
        same_servers = self.server_port(mine.listener) == self.server_port(theirs.listener)
        return same_servers and bool(set(mine.hosts) & set(theirs.hosts))

    def _report(self, route: Manifest, attachment: Attachment, reason: str, code: Code) -> None:
        key = (id(route), attachment.parent)
        if key not in self.reported:
            self.reported.add(key)
            where = f"spec.parentRefs[{attachment.parent}]"
            self.problems.append(Problem(Severity.WARNING, route.ref, where, reason, code))


def settle_kinds(
    routes: list[Attached],
    plain_grpc: bool,
    server_port: Callable[[Listener], int | None],
    problems: list[Problem],
) -> tuple[list[Attached], bool]:
    """The routes with the attachments served (routes oldest first decide), and whether a
    GRPCRoute is served on a plain HTTP listener (h2c). `plain_grpc`: nginx can serve h2c
    beside HTTP/1.1; `server_port` gives the port key of a listener's servers."""
    settling = _Settling(plain_grpc, server_port, problems)
    kept: dict[int, list[Attachment]] = {}
    for route, attached in sorted(routes, key=lambda pair: pair[0].age_key):
        kept[id(route)] = [item for item in attached if settling.keeps(route, item)]
    h2c = any(route.kind == GRPC_ROUTE and _plain(item) for route, item in settling.accepted)
    return [(route, kept[id(route)]) for route, _ in routes], h2c


def _plain(attachment: Attachment) -> bool:
    """An HTTP listener (HTTPS ones have their certificate)."""
    return attachment.listener.certificate is None


def _listener_key(attachment: Attachment) -> tuple[str, str, int]:
    gateway = attachment.listener.gateway
    return (gateway.namespace, gateway.name, attachment.listener.index)


def _meet(a: str, b: str) -> bool:
    return a == b or ANY_HOST in (a, b) or matches(a, b) or matches(b, a)
