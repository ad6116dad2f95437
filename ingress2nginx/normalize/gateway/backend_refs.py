"""A rule's ``backendRefs`` into what nginx does with a request the rule matches.

Each entry names a Service (group ``""``, kind ``Service``) and its port, in the route's
namespace or, with a ReferenceGrant there, in another. It resolves as an Ingress backend does
(backends.py: endpoints, a DNS name, 503 without ready endpoints). An entry that cannot be
used (another kind, no port, a namespace no grant opens, a Service missing from an input that
holds Services) is reported and answers 500, as the Gateway API asks, without costing the
route's other rules or entries.

One entry with weight above 0 is the action itself. Several share the requests by weight: a
`Choose` handing each request to a named location per entry (gateway/nginx.py), so an invalid
entry's share answers 500 while the others are proxied. No entry, or every weight 0: 500.
An entry's own ``filters`` (implementation-specific) may be RequestHeaderModifier and
ResponseHeaderModifier, applied to its requests only (after the rule's); any other filter
cannot be honoured there, so the entry answers 500 rather than be served without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.grammar import is_dns1123_label, is_dns1123_subdomain
from ingress2nginx.core.objects import Manifest
from ingress2nginx.model import (
    Action,
    Choice,
    Choose,
    Location,
    Match,
    Origin,
    Respond,
    RouteFilters,
)
from ingress2nginx.normalize.backends import Backends
from ingress2nginx.normalize.gateway.filters import backend_ref_filters
from ingress2nginx.normalize.gateway.grants import CORE_GROUP, GATEWAY_GROUP, Grants, Reference

UNRESOLVED = Respond(500, "backendRef cannot be resolved")


@dataclass(frozen=True, slots=True)
class RuleBackend:
    """What a rule's matching requests get: the action, and the named locations it needs."""

    action: Action
    named: tuple[Location, ...] = ()
    backend: str = ""
    """For ``explain``: the Service, the weighted Services, or the status."""
    filters: RouteFilters | None = None
    """A single backendRef's own filters (those of weighted ones are on their locations)."""


class BackendRefs:
    """Resolves the backendRefs of HTTPRoute rules."""

    def __init__(
        self, backends: Backends, grants: Grants, services: Collection[tuple[str, str]]
    ) -> None:
        self._backends = backends
        self._grants = grants
        self._services = services
        """(namespace, name) of the input's Services: when it holds any, one missing from it
        is a BackendNotFound (500); with none, Services are found by DNS, as for Ingresses."""

    def rule(self, route: Manifest, rule: Mapping[str, Any], index: int,
             problems: list[Problem]) -> RuleBackend:  # fmt: skip
        """The action for rule `index` of `route`."""
        where = f"spec.rules[{index}].backendRefs"
        refs = rule.get("backendRefs")
        entries = [
            (ref_index, ref, _weight(ref))
            for ref_index, ref in enumerate(refs if isinstance(refs, list) else [])
            if isinstance(ref, Mapping)
        ]
        weighted = [(ref_index, ref, weight) for ref_index, ref, weight in entries if weight > 0]
        if not weighted:
            reason = "no backendRefs" if not entries else "every backendRef has weight 0"
            reason = f"{reason}: matching requests get {_failing(route)}"
            problems.append(Problem(Severity.WARNING, route.ref, where, reason, Code.BACKEND))
            return RuleBackend(UNRESOLVED, backend="500")
        digest = hashlib.sha256(f"{route.namespace}/{route.name}\0{index}".encode()).hexdigest()
        variable = f"gw_{digest[:12]}"
        actions = [
            (*self._filtered(route, ref, f"{where}[{ref_index}]", f"{variable}_{ref_index}",
                             problems), weight, ref_index)
            for ref_index, ref, weight in weighted
        ]  # fmt: skip
        if len(actions) == 1:
            action, filters = actions[0][:2]
            return RuleBackend(action, backend=_describe(action), filters=filters)
        return self._weighted(route, index, variable, actions)

    def _filtered(self, route: Manifest, ref: Mapping[str, Any], where: str, name: str,
                  problems: list[Problem]) -> tuple[Action, RouteFilters | None]:  # fmt: skip
        """One backendRef's action and its own filters (named `name`); 500 (reported) when
        they cannot all be honoured."""
        action = self.entry(route, ref, where, problems)
        filters = backend_ref_filters(ref, name)
        if isinstance(filters, str):
            reason = f"{filters}; its requests get {_failing(route)}"
            problems.append(Problem(Severity.WARNING, route.ref, where, reason, Code.UNSUPPORTED))
            return UNRESOLVED, None
        return action, filters

    def _weighted(
        self,
        route: Manifest,
        index: int,
        variable: str,
        actions: list[tuple[Action, RouteFilters | None, int, int]],
    ) -> RuleBackend:
        named, choices = [], []
        for action, filters, weight, ref_index in actions:
            name = f"@{variable}_{ref_index}"
            field = f"spec.rules[{index}].backendRefs[{ref_index}]"
            origin = Origin(route.namespace, route.name, field, route.kind)
            named.append(Location(Match.NAMED, name, action, origin, filters=filters))
            choices.append(Choice(name, weight, _describe(action)))
        choose = Choose(variable, tuple(choices))
        return RuleBackend(choose, tuple(named), choose.service)

    def entry(
        self, route: Manifest, ref: Mapping[str, Any], where: str, problems: list[Problem]
    ) -> Action:
        """One backendRef's action (also a RequestMirror's); 500 (reported) when it cannot be
        resolved."""
        trouble = self._trouble(route, ref)
        if trouble:
            reason = f"{trouble}; its requests get {_failing(route)}"
            problems.append(Problem(Severity.WARNING, route.ref, where, reason, Code.BACKEND))
            return UNRESOLVED
        namespace = ref.get("namespace") or route.namespace
        service = {"name": ref["name"], "port": {"number": ref["port"]}}
        return self._backends.resolve(route, service, where, problems, namespace)

    def _trouble(self, route: Manifest, ref: Mapping[str, Any]) -> str:
        """Why a backendRef cannot be used (with the Gateway API reason), or empty."""
        group, kind = ref.get("group") or CORE_GROUP, ref.get("kind") or "Service"
        if (group, kind) != (CORE_GROUP, "Service"):
            return f"kind {shown(kind)} of group {shown(group)} is not a Service (InvalidKind)"
        name, port = ref.get("name"), ref.get("port")
        if not isinstance(name, str) or not name:
            return "a backendRef needs a name"
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            return "a Service backendRef needs a port number"
        namespace = ref.get("namespace") or route.namespace
        if not isinstance(namespace, str) or not is_dns1123_label(namespace):
            return f"namespace {shown(namespace)} is not a namespace name"
        if not is_dns1123_subdomain(name):
            return f"name {shown(name)} is not a Service name"
        reference = Reference(GATEWAY_GROUP, route.kind, route.namespace, CORE_GROUP,
                              "Service", namespace, name)  # fmt: skip
        if not self._grants.allows(reference):
            return (
                f"service {namespace}/{name} is in another namespace and no ReferenceGrant"
                " there allows it (RefNotPermitted)"
            )
        if self._services and (namespace, name) not in self._services:
            return f"service {namespace}/{name} is not in the input (BackendNotFound)"
        return ""


def _failing(route: Manifest) -> str:
    """What an unusable backend answers, as messages say it (a GRPCRoute's 500 becomes a
    503, gRPC's UNAVAILABLE: grpc_routes.py)."""
    return "503 (gRPC UNAVAILABLE)" if route.kind == "GRPCRoute" else "500"


def _weight(ref: Mapping[str, Any]) -> int:
    weight = ref.get("weight", 1)
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else 0


def _describe(action: Action) -> str:
    if isinstance(action, Respond):
        return str(action.status)
    return getattr(action, "service", "")
