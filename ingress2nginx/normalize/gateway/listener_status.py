"""The status of one Gateway listener: supportedKinds, attachedRoutes and its conditions.

Part of the Gateway status (status.py). Per listener, in the Gateway API's terms:

- Accepted: True (Accepted) when its port and protocol can be served; False with the reason
  selection.py gave when it left the listener out: PortUnavailable (HTTP on 443 or HTTPS on
  80, a port nginx already listens on, a port served for the other protocol), UnsupportedProtocol
  (TCP, UDP, TLS), UnsupportedValue.
- ResolvedRefs: False with InvalidCertificateRef (no, or no usable, ``kubernetes.io/tls``
  Secret: its hosts are answered with the default certificate), RefNotPermitted (the Secret is
  in another namespace and no ReferenceGrant allows it), InvalidRouteKinds (``allowedRoutes``
  names a kind ingress2nginx does not serve there); else True (ResolvedRefs).
- Programmed: True once nginx runs it with its certificate; else False (Invalid).
- Conflicted: True (HostnameConflict) for a listener on the port and hostname of an earlier
  one of the same Gateway (nginx serves the host once, for both); True (ProtocolConflict) for
  one left out because its port is served for the other protocol; else False (NoConflicts).

``attachedRoutes`` counts the routes attached to the listener (accepted through it), each
once, and ``supportedKinds`` the route kinds it takes (HTTPRoute and GRPCRoute for HTTPS;
for HTTP, GRPCRoute only where nginx serves h2c beside HTTP/1.1, from 1.25.1 on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.errors import Problem, shown_name
from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.certificates import Certificates
from ingress2nginx.normalize.gateway.grants import GATEWAY_GROUP
from ingress2nginx.normalize.gateway.grpc_routes import GRPC_ROUTE
from ingress2nginx.normalize.gateway.selection import Listener
from ingress2nginx.normalize.gateway.shapes import listed

Json = dict[str, Any]

SUPPORTED_ROUTE_KINDS = ((GATEWAY_GROUP, "HTTPRoute"), (GATEWAY_GROUP, "GRPCRoute"))
"""(group, kind) of the routes HTTP and HTTPS listeners take (GRPCRoute on HTTP listeners
only where nginx serves h2c beside HTTP/1.1: route_kinds.py)."""
ROUTE_PROTOCOLS = frozenset({"HTTP", "HTTPS"})
ACCEPTED_REASONS = frozenset({"PortUnavailable", "UnsupportedProtocol", "UnsupportedValue"})
REFERENCE_REASONS = frozenset({"InvalidCertificateRef", "RefNotPermitted"})
CONFLICT_REASONS = frozenset({"ProtocolConflict"})
_TAG = re.compile(r"\(([A-Z][A-Za-z]+)\)")


def tagged(reason: str, known: Iterable[str]) -> str:
    """The first Gateway API reason among `known` written in parentheses in `reason`, or ''."""
    wanted = frozenset(known)
    return next((tag for tag in _TAG.findall(reason) if tag in wanted), "")


@dataclass(frozen=True, slots=True)
class Condition:
    """One status condition, before its ``lastTransitionTime`` is known."""

    type: str
    status: bool
    reason: str
    message: str

    def as_json(self, observed: int) -> Json:
        """As the API has it (``lastTransitionTime`` is status_merging.py's)."""
        return {"type": self.type, "status": "True" if self.status else "False",
                "reason": self.reason, "message": self.message[:32768],
                "observedGeneration": observed}  # fmt: skip


class Reported:
    """Problems by the object and field they are about."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self._by_subject: dict[object, dict[str, list[Problem]]] = {}
        for problem in problems:
            fields = self._by_subject.setdefault(problem.subject, {})
            fields.setdefault(problem.field, []).append(problem)

    def at(self, manifest: Manifest, field: str) -> list[Problem]:
        """The problems reported on `field` of `manifest`."""
        return self._by_subject.get(manifest.ref, {}).get(field, [])

    def under(self, manifest: Manifest, prefix: str) -> list[Problem]:
        """The problems reported on `prefix` or a field inside it, in field order."""
        inside = (f"{prefix}.", f"{prefix}[")
        found = [
            problem
            for field, problems in self._by_subject.get(manifest.ref, {}).items()
            if field == prefix or field.startswith(inside)
            for problem in problems
        ]
        return sorted(found, key=lambda problem: _field_order(problem.field))


def _field_order(field: str) -> list[tuple[int, int | str]]:
    parts = (part for part in re.split(r"[\[\].]+", field) if part)
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts]


@dataclass(frozen=True, slots=True)
class ListenerFacts:
    """What the renderer made of the listeners and routes."""

    served: Sequence[Listener]
    reported: Reported
    attached: Mapping[tuple[tuple[str, str], int], set[tuple[str, str]]]
    """Per (Gateway key, listener index): the routes attached to it."""
    certificates: Certificates
    plain_grpc: bool = True
    """HTTP listeners take GRPCRoutes (h2c beside HTTP/1.1: nginx 1.25.1 or later)."""


@dataclass(frozen=True, slots=True)
class ListenerState:
    """One listener's status."""

    name: str
    supported_kinds: tuple[tuple[str, str], ...]
    attached_routes: int
    conditions: tuple[Condition, ...]

    @property
    def accepted(self) -> bool:
        return self._holds("Accepted")

    @property
    def programmed(self) -> bool:
        return self._holds("Programmed")

    def _holds(self, kind: str) -> bool:
        return any(item.type == kind and item.status for item in self.conditions)

    def as_json(self, observed: int) -> Json:
        kinds = [{"group": group, "kind": kind} for group, kind in self.supported_kinds]
        return {"name": self.name, "supportedKinds": kinds,
                "attachedRoutes": self.attached_routes,
                "conditions": [item.as_json(observed) for item in self.conditions]}  # fmt: skip


def listener_status(
    gateway: Manifest, index: int, entry: Mapping[str, Any], facts: ListenerFacts
) -> ListenerState:
    """The status of listener `index` of `gateway` (`entry` is its spec)."""
    served = next(
        (item for item in facts.served if item.gateway.key == gateway.key and item.index == index),
        None,
    )
    refused = facts.reported.at(gateway, f"spec.listeners[{index}]")
    refusal = refused[0].reason if served is None and refused else ""
    if served is None and not refusal:
        refusal = "not served"
    supported, unsupported = _route_kinds(entry, facts.plain_grpc)
    reference = tagged(refusal, REFERENCE_REASONS)
    if refusal and not reference:
        reason = tagged(refusal, ACCEPTED_REASONS) or "UnsupportedValue"
        if tagged(refusal, CONFLICT_REASONS):
            reason = "PortUnavailable"
        accepted = Condition("Accepted", False, reason, refusal)
    else:
        accepted = Condition("Accepted", True, "Accepted", "the listener is served")
    resolved = _resolved_refs(served, refusal, reference, unsupported, facts.certificates)
    usable = resolved.status or resolved.reason == "InvalidRouteKinds"
    if served is not None and usable:
        programmed = Condition("Programmed", True, "Programmed", "nginx serves this listener")
    else:
        programmed = Condition("Programmed", False, "Invalid", refusal or resolved.message)
    conflicted = _conflicted(served, facts.served, tagged(refusal, CONFLICT_REASONS), refusal)
    attached = len(facts.attached.get((gateway.key, index), ()))
    name = entry.get("name")
    conditions = (accepted, resolved, programmed, conflicted)
    return ListenerState(name if isinstance(name, str) else "", supported, attached, conditions)


def _route_kinds(
    entry: Mapping[str, Any], plain_grpc: bool
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The route kinds the listener takes (supportedKinds), and those it names that
    ingress2nginx does not serve there."""
    protocol = entry.get("protocol")
    if protocol not in ROUTE_PROTOCOLS:
        return (), ()
    takes: tuple[tuple[str, str], ...] = SUPPORTED_ROUTE_KINDS
    if protocol == "HTTP" and not plain_grpc:
        takes = tuple(kind for kind in takes if kind[1] != GRPC_ROUTE)
    allowed = entry.get("allowedRoutes")
    kinds = listed(allowed.get("kinds") if isinstance(allowed, Mapping) else None)
    named = [item for item in kinds if isinstance(item, Mapping)]
    if not named:
        return takes, ()
    supported, unsupported = [], []
    for item in named:
        key = (str(item.get("group") or GATEWAY_GROUP), str(item.get("kind")))
        if key in takes:
            if key not in supported:
                supported.append(key)
        else:
            unsupported.append(key[1])
    return tuple(supported), tuple(unsupported)


def _resolved_refs(
    served: Listener | None,
    refusal: str,
    reference: str,
    unsupported: tuple[str, ...],
    certificates: Certificates,
) -> Condition:
    if reference:
        return Condition("ResolvedRefs", False, reference, refusal)
    if served is not None and served.certificate is not None:
        namespace, name = served.certificate
        parsed = certificates.lookup(namespace, name)
        if isinstance(parsed, str):
            message = (
                f"secret {namespace}/{name}: {parsed}; the listener's hosts are answered"
                " with the default certificate"
            )
            return Condition("ResolvedRefs", False, "InvalidCertificateRef", message)
    if unsupported:
        kinds = ", ".join(shown_name(kind) for kind in unsupported)
        message = f"route kinds not served by ingress2nginx: {kinds}"
        return Condition("ResolvedRefs", False, "InvalidRouteKinds", message)
    return Condition("ResolvedRefs", True, "ResolvedRefs", "every reference resolves")


def _conflicted(
    served: Listener | None, listeners: Sequence[Listener], conflict: str, refusal: str
) -> Condition:
    if conflict:
        return Condition("Conflicted", True, conflict, refusal)
    if served is not None:
        for other in listeners:
            if other.gateway.key != served.gateway.key or other.index >= served.index:
                continue
            if (other.port, other.hostname) == (served.port, served.hostname):
                message = f"listener {other.name} has the same port and hostname"
                return Condition("Conflicted", True, "HostnameConflict", message)
    return Condition("Conflicted", False, "NoConflicts", "no conflict")
