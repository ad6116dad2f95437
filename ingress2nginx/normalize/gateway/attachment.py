"""Which listeners an HTTPRoute attaches to, and with which hostnames.

Each ``spec.parentRefs`` entry names a Gateway (group ``gateway.networking.k8s.io``, kind
``Gateway``, namespace defaulting to the route's), optionally one listener by
``sectionName`` and/or ``port``. It attaches to every listener so named that allows it:
``allowedRoutes.namespaces.from`` Same (the Gateway's namespace, the default), All, or
Selector (the route namespace's labels: those of its Namespace object when the input holds
one, and always ``kubernetes.io/metadata.name``), ``allowedRoutes.kinds`` including the
route's kind (HTTPRoute or GRPCRoute),
and a hostname in common (hostnames.py). A parentRef attaching nowhere is reported with the
reason the Gateway API status would give (NoMatchingParent, NotAllowedByListeners,
NoMatchingListenerHostname); a listener nginx does not serve (a TLS or TCP one, say) still
tells NotAllowedByListeners apart, when its ``allowedRoutes.kinds`` (or its protocol's
default kinds) leave HTTPRoute out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.grammar import host_problem, is_dns1123_subdomain
from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.gateway.grants import GATEWAY_GROUP
from ingress2nginx.normalize.gateway.hostnames import intersect
from ingress2nginx.normalize.gateway.selection import Listener
from ingress2nginx.normalize.gateway.shapes import listed

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A route attached to one listener, with the hosts it serves there."""

    listener: Listener
    hosts: tuple[str, ...]
    parent: int
    """Index of the parentRef that attached it."""


def attachments(
    route: Manifest,
    listeners: list[Listener],
    namespaces: Mapping[str, Manifest],
    problems: list[Problem],
    gateways: Mapping[tuple[str, str], Manifest] | None = None,
) -> list[Attachment]:
    """Every listener `route` attaches to, parentRefs in order (`gateways`, by namespace and
    name, give the reasons for listeners that are not served)."""
    spec = route.body.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    hostnames = _hostnames(route, spec.get("hostnames"), problems)
    found = []
    for index, ref in enumerate(listed(spec.get("parentRefs"))):
        if not isinstance(ref, Mapping):
            continue
        attached, reason = _attach(route, ref, index, listeners, hostnames, namespaces)
        if not attached and "NoMatchingParent" in reason and _kind_refused(ref, route, gateways):
            reason = (
                f"{_gateway_label(ref, route)} allows no HTTPRoute on the listeners this"
                " reference names (NotAllowedByListeners)"
            )
        if not attached:
            problems.append(
                Problem(
                    Severity.WARNING, route.ref, f"spec.parentRefs[{index}]", reason, Code.ATTACH
                )
            )
        found.extend(attached)
    return found


def _hostnames(route: Manifest, value: object, problems: list[Problem]) -> list[str]:
    """The route's valid hostnames; each invalid one reported and left out."""
    found = []
    for index, hostname in enumerate(listed(value)):
        trouble = host_problem(hostname) if isinstance(hostname, str) else "must be a string"
        if trouble:
            where = f"spec.hostnames[{index}]"
            reason = f"hostname {shown(hostname)}: {trouble}; left out"
            problems.append(Problem(Severity.ERROR, route.ref, where, reason, Code.INVALID_HOST))
        else:
            found.append(hostname)
    return found


def _attach(
    route: Manifest,
    ref: Mapping[str, Any],
    index: int,
    listeners: list[Listener],
    hostnames: list[str],
    namespaces: Mapping[str, Manifest],
) -> tuple[list[Attachment], str]:
    """The attachments of one parentRef, or none and why."""
    if (ref.get("group") or GATEWAY_GROUP, ref.get("kind") or "Gateway") != (
        GATEWAY_GROUP,
        "Gateway",
    ):
        return [], "only parentRefs to Gateways are supported (NoMatchingParent); not attached"
    namespace = ref.get("namespace") or route.namespace
    name, section, port = ref.get("name"), ref.get("sectionName"), ref.get("port")
    named = [
        listener
        for listener in listeners
        if listener.gateway.key == (namespace, name)
        and section in (None, listener.name)
        and port in (None, listener.port)
    ]
    gateway = _gateway_label(ref, route)
    if not named:
        return [], f"{gateway} has no served listener matching this reference (NoMatchingParent)"
    allowed = [item for item in named if _allows(item, route, namespaces)]
    if not allowed:
        return [], f"no listener of {gateway} allows this route (NotAllowedByListeners)"
    found = []
    for listener in allowed:
        hosts = intersect(listener.hostname, hostnames)
        if hosts:
            found.append(Attachment(listener, tuple(hosts), index))
    if not found:
        return [], (
            f"no hostname of this route meets a listener hostname of {gateway}"
            " (NoMatchingListenerHostname)"
        )
    return found, ""


ROUTE_KINDS_OF_PROTOCOL = {"HTTP": "HTTPRoute", "HTTPS": "HTTPRoute", "TLS": "TLSRoute",
                           "TCP": "TCPRoute", "UDP": "UDPRoute"}  # fmt: skip
"""The route kind a listener of each protocol allows when ``allowedRoutes.kinds`` is empty."""


def _kind_refused(
    ref: Mapping[str, Any], route: Manifest, gateways: Mapping[tuple[str, str], Manifest] | None
) -> bool:
    """Whether every listener of the Gateway that `ref` names refuses the HTTPRoute kind."""
    gateway = (gateways or {}).get(
        (str(ref.get("namespace") or route.namespace), str(ref.get("name")))
    )
    spec = gateway.body.get("spec") if gateway is not None else None
    entries = listed(spec.get("listeners")) if isinstance(spec, Mapping) else []
    section, port = ref.get("sectionName"), ref.get("port")
    named = [
        entry
        for entry in entries
        if isinstance(entry, Mapping)
        and section in (None, entry.get("name"))
        and port in (None, entry.get("port"))
    ]
    return bool(named) and not any(_kinds_allow_http_routes(entry) for entry in named)


def _kinds_allow_http_routes(entry: Mapping[str, Any]) -> bool:
    allowed = entry.get("allowedRoutes")
    kinds = listed(allowed.get("kinds")) if isinstance(allowed, Mapping) else []
    if not kinds:
        return ROUTE_KINDS_OF_PROTOCOL.get(str(entry.get("protocol"))) == "HTTPRoute"
    return any(
        isinstance(kind, Mapping)
        and kind.get("kind") == "HTTPRoute"
        and (kind.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP
        for kind in kinds
    )


def _gateway_label(ref: Mapping[str, Any], route: Manifest) -> str:
    """``gateway namespace/name`` as messages name the Gateway a parentRef names."""
    name = ref.get("name")
    label = name if isinstance(name, str) and is_dns1123_subdomain(name) else shown(name)
    return f"gateway {ref.get('namespace') or route.namespace}/{label}"


def _allows(listener: Listener, route: Manifest, namespaces: Mapping[str, Manifest]) -> bool:
    allowed = listener.allowed
    if not (allowed.grpc_routes if route.kind == "GRPCRoute" else allowed.http_routes):
        return False
    if allowed.namespaces == "All":
        return True
    if allowed.namespaces == "Selector":
        return selects(allowed.selector, namespace_labels(route.namespace, namespaces))
    return route.namespace == listener.gateway.namespace


def namespace_labels(namespace: str, namespaces: Mapping[str, Manifest]) -> dict[str, str]:
    """A namespace's labels as the API server keeps them."""
    found = namespaces.get(namespace)
    labels = dict(found.labels) if found is not None else {}
    labels[NAMESPACE_NAME_LABEL] = namespace
    return labels


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions) selects `labels`."""
    match_labels = selector.get("matchLabels")
    match_labels = match_labels if isinstance(match_labels, Mapping) else {}
    if any(labels.get(str(key)) != value for key, value in match_labels.items()):
        return False
    expressions = listed(selector.get("matchExpressions"))
    return all(isinstance(item, Mapping) and _expression(item, labels) for item in expressions)


def _expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = listed(expression.get("values"))
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False
