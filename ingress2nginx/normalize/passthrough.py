"""The hosts passed through to their backends as TLS (ssl-passthrough), found in the servers.

The annotation, its options and the stream block it writes are the feature's
(features/passthrough.py); choosing which hosts pass through, and to which backend, is a
normalizing decision made on the servers already built, so it lives here with the model it
builds (`Passthrough`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.features.passthrough import WHERE
from ingress2nginx.model import Match, Passthrough, ProxyToAddress, ProxyToUpstream, Server
from ingress2nginx.normalize.hosts import server_names


def passthrough_hosts(
    servers: Sequence[Server], problems: list[Problem]
) -> tuple[Passthrough, ...]:
    """The hosts some Ingress asks to pass through, with the backend of their ``/`` path."""
    found = []
    for server in servers:
        asking = [
            loc.origin
            for loc in server.locations
            if loc.options.passthrough.enabled and loc.origin is not None
        ]
        if not asking:
            continue
        origin = min(asking, key=lambda origin: (origin.namespace, origin.name))
        ref = ObjectRef("Ingress", origin.namespace, origin.name)
        if not server.host:
            problems.append(_ignored(ref, "a rule without host has no SNI name to match"))
            continue
        root = next(
            loc for loc in server.locations if loc.match is Match.PREFIX and loc.path == "/"
        )
        action = getattr(root.action, "main", root.action)  # a canary split: its main backend
        if not isinstance(action, ProxyToUpstream | ProxyToAddress):
            reason = f"host {server.host} has no backend for / to pass TLS connections to"
            problems.append(_ignored(ref, reason))
            continue
        found.append(Passthrough(server.host, server_names(server.host), action, origin))
    return tuple(found)


def _ignored(ref: ObjectRef, reason: str) -> Problem:
    return Problem(Severity.WARNING, ref, WHERE, f"{reason}; ignored", Code.PASSTHROUGH)
