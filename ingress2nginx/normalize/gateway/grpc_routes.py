"""GRPCRoutes: gRPC services and methods as the paths, conditions and backends of the one model.

A gRPC call is an HTTP/2 POST to ``/<service>/<method>``, so a GRPCRoute match is laid out as
an HTTPRoute match is (dispatch.py), on the path nginx compares:

- ``method`` Exact with a service and a method: the Exact path ``/<service>/<method>``;
- Exact with a service only: the element-wise prefix ``/<service>`` (its every method);
- Exact with a method only, or ``RegularExpression``: every path, with a condition on the
  whole path (``$uri``): ``^/[^/]+/<method>$``, ``^/(?:<service>)/(?:<method>)$`` (a
  case-sensitive PCRE, each part matched whole; an absent part matches any name);
- no ``method``: every call.

``headers`` are HTTPRoute header matches (conditions.py). Precedence, as the GRPCRoute
specification asks: dispatch.py orders by path first (an Exact service and method, then a
service, then every call), then by the rank made here: the characters of the service, then of
the method, then the number of header matches, then the oldest route, namespace/name, rule and
match. (A RegularExpression service ranks after every Exact one, by its own characters.)

Backends are passed with ``grpc_pass``: h2c (``grpc://``) unless the Service port's
``appProtocol`` says TLS (``https``, ``h2``, ``grpcs``: ``grpcs://``). A backendRef that cannot
be used answers 503, which every gRPC client reads as ``UNAVAILABLE`` (gRPC's mapping of HTTP
statuses), the status the GRPCRoute specification asks for; so does a filter nginx cannot
honour (``ExtensionRef``). Filters: RequestHeaderModifier, ResponseHeaderModifier and
RequestMirror as an HTTPRoute's (filters.py); RequestRedirect and URLRewrite are not GRPCRoute
filters (the rule is reported and left out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ingress2nginx.core.errors import shown
from ingress2nginx.core.grammar import refused_characters
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import IngressOptions
from ingress2nginx.model import Action, Choose, Condition, Location, Match, Respond
from ingress2nginx.normalize.gateway.backend_refs import UNRESOLVED, RuleBackend
from ingress2nginx.normalize.gateway.conditions import conditions, regex_problem
from ingress2nginx.normalize.gateway.dispatch import ROUTE_OPTIONS, Rank
from ingress2nginx.normalize.gateway.matching import PATH_PREFIX, PathMatch
from ingress2nginx.normalize.gateway.shapes import listed

GRPC_ROUTE = "GRPCRoute"

GRPC_OPTIONS = replace(ROUTE_OPTIONS, proxy=replace(ROUTE_OPTIONS.proxy, backend_protocol="GRPC"))
GRPCS_OPTIONS = replace(GRPC_OPTIONS, proxy=replace(GRPC_OPTIONS.proxy, backend_protocol="GRPCS"))

UNAVAILABLE = Respond(503, "backendRef cannot be resolved: gRPC UNAVAILABLE")

TLS_APP_PROTOCOLS = frozenset({"https", "h2", "grpcs"})
"""A Service port's ``appProtocol`` values saying its backend speaks TLS."""

ANY_CALL = PathMatch(PATH_PREFIX, "/", (Match.PREFIX, "/"))

_SERVICE = re.compile(r"\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*\Z")
_METHOD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_MAX_NAME = 1024
_NOT_GRPC_FILTERS = frozenset({"RequestRedirect", "URLRewrite"})


@dataclass(frozen=True, slots=True)
class GrpcMatch:
    """One checked GRPCRoute match."""

    path: PathMatch
    conditions: tuple[Condition, ...]
    service: int
    """Characters of the service matched (0: any)."""
    method: int
    """Characters of the method matched (0: any)."""
    headers: int


def grpc_match(match: Mapping[str, Any]) -> GrpcMatch | str:
    """One ``matches`` entry, or why it cannot be served."""
    tests = conditions({"headers": match.get("headers")})
    if isinstance(tests, str):
        return tests
    tested, headers = tests[0], tests[1]
    method = match.get("method")
    if method is None:
        return GrpcMatch(ANY_CALL, tested, 0, 0, headers)
    if not isinstance(method, Mapping):
        return "method must be an object with service and method"
    service, name = method.get("service") or "", method.get("method") or ""
    if not isinstance(service, str) or not isinstance(name, str):
        return "method: service and method must be strings"
    if not service and not name:
        return "method: a service or a method is needed"
    kind = method.get("type") or "Exact"
    if kind == "Exact":
        found = _exact(service, name)
    elif kind == "RegularExpression":
        found = _regex(service, name)
    else:
        return f"method type {shown(kind)} is not Exact or RegularExpression"
    if isinstance(found, str):
        return f"method: {found}"
    path, more = found
    return GrpcMatch(path, (*more, *tested), len(service), len(name), headers)


def _exact(service: str, name: str) -> tuple[PathMatch, tuple[Condition, ...]] | str:
    if service and not _SERVICE.match(service):
        return f"service {shown(service)} is not a gRPC service name (such as pkg.Service)"
    if name and not _METHOD.match(name):
        return f"method {shown(name)} is not a gRPC method name"
    if service and name:
        value = f"/{service}/{name}"
        return PathMatch("Exact", value, (Match.EXACT, value)), ()
    if service:
        return PathMatch(PATH_PREFIX, f"/{service}", (Match.PREFIX, f"/{service}")), ()
    return ANY_CALL, (Condition("uri", f"^/[^/]+/{name}$"),)


def _regex(service: str, name: str) -> tuple[PathMatch, tuple[Condition, ...]] | str:
    for part, value in (("service", service), ("method", name)):
        trouble = f"must be no more than {_MAX_NAME} characters" if len(value) > _MAX_NAME else None
        trouble = trouble or refused_characters(value) or (value and regex_problem(value))
        if trouble:
            return f"{part} {shown(value)}: {trouble}"
    pattern = f"^/(?:{service or '[^/]+'})/(?:{name or '[^/]+'})$"
    return ANY_CALL, (Condition("uri", pattern),)


def grpc_rank(match: GrpcMatch, age: tuple[datetime, str, str], rule: int, index: int) -> Rank:
    """The precedence key of a match among those dispatch.py finds for one path."""
    return (-match.service, -match.method, -match.headers, *age, rule, index)


def grpc_filter_problem(rule: Mapping[str, Any], index: int) -> tuple[str, str] | None:
    """(field, reason) when the rule holds a filter GRPCRoutes do not have."""
    for position, entry in enumerate(listed(rule.get("filters"))):
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if isinstance(kind, str) and kind in _NOT_GRPC_FILTERS:
            return (f"spec.rules[{index}].filters[{position}]",
                    f"{kind} is not a GRPCRoute filter")  # fmt: skip
    return None


def filters_only(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    """What filters.py reads of a GRPCRoute rule (it has no ``timeouts``)."""
    return {"filters": rule.get("filters")}


def grpc_scheme(route: Manifest, ref: Mapping[str, Any], services: Mapping[Any, Manifest]) -> str:
    """``grpcs`` when the backendRef's Service port says TLS by its appProtocol, else ``grpc``."""
    namespace, name = ref.get("namespace") or route.namespace, ref.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        return "grpc"  # not a usable backendRef: backend_refs.py reports it
    service = services.get((namespace, name))
    spec = service.body.get("spec") if service is not None else None
    ports = spec.get("ports") if isinstance(spec, Mapping) else None
    for port in listed(ports):
        if isinstance(port, Mapping) and port.get("port") == ref.get("port"):
            protocol = port.get("appProtocol")
            tls = isinstance(protocol, str) and protocol.lower() in TLS_APP_PROTOCOLS
            return "grpcs" if tls else "grpc"
    return "grpc"


def for_grpc(
    backend: RuleBackend,
    route: Manifest,
    rule: Mapping[str, Any],
    services: Mapping[Any, Manifest],
) -> tuple[RuleBackend, IngressOptions]:
    """A rule's backend passed over gRPC: each location's options by its backendRef's
    scheme, 503 (UNAVAILABLE) for what an HTTPRoute answers 500; and the options of the
    rule's own location."""
    refs = listed(rule.get("backendRefs"))
    options = {
        index: GRPCS_OPTIONS if grpc_scheme(route, ref, services) == "grpcs" else GRPC_OPTIONS
        for index, ref in enumerate(refs)
        if isinstance(ref, Mapping)
    }
    named = tuple(
        replace(location, action=_unavailable(location.action),
                options=options.get(_ref_index(location), GRPC_OPTIONS))
        for location in backend.named
    )  # fmt: skip
    action = _unavailable(backend.action)
    weighted = [index for index, ref in enumerate(refs) if _weight(ref) > 0]
    own = options.get(weighted[0], GRPC_OPTIONS) if len(weighted) == 1 else GRPC_OPTIONS
    text = "503" if backend.backend == "500" else backend.backend
    if isinstance(action, Choose):
        text = action.service
    return RuleBackend(action, named, text), own


def _unavailable(action: Action) -> Action:
    if action == UNRESOLVED:
        return UNAVAILABLE
    if isinstance(action, Choose):
        choices = tuple(
            replace(choice, service="503") if choice.service == "500" else choice
            for choice in action.choices
        )
        return replace(action, choices=choices)
    return action


def _ref_index(location: Location) -> int:
    """The backendRef a weighted backend's named location is for (``@gw_<digest>_<index>``)."""
    tail = location.path.rpartition("_")[2]
    return int(tail) if tail.isdigit() else -1


def _weight(ref: object) -> int:
    weight = ref.get("weight", 1) if isinstance(ref, Mapping) else 0
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else 0
