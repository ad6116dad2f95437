"""Builders for Gateway API manifests in tests (GatewayClass, Gateway, HTTPRoute, grants).

They mirror e2e.py's Ingress builders: small functions returning plain dicts, so a test reads
as the objects it serves::

    gateway("web", listeners=[listener("http", 80)])
    http_route("shop", parents=[parent("web")], hostnames=["shop.test"],
               rules=[route_rule([path_match("/api")], [backend_ref("api")])])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Obj = dict[str, Any]

GATEWAY_API = "gateway.networking.k8s.io/v1"
CONTROLLER = "ingress2nginx.dev/gateway-controller"


def gateway_class(name: str = "ours", controller: str = CONTROLLER) -> Obj:
    """A GatewayClass (by default ours, by controllerName)."""
    return {"apiVersion": GATEWAY_API, "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": controller}}  # fmt: skip


def listener(
    name: str,
    port: int,
    *,
    hostname: str | None = None,
    secret: str | None = None,
    secret_namespace: str | None = None,
    namespaces: str | None = None,
    selector: Mapping[str, Any] | None = None,
    kinds: Sequence[str] | None = None,
    protocol: str | None = None,
) -> Obj:
    """A listener: HTTP on 80, HTTPS (Terminate, with `secret`) on 443; on another port,
    `protocol` (HTTPS when a `secret` is given, else HTTP)."""
    if protocol is None:
        protocol = "HTTPS" if port == 443 or (port != 80 and secret) else "HTTP"
    entry: Obj = {"name": name, "port": port, "protocol": protocol}
    if hostname is not None:
        entry["hostname"] = hostname
    if secret is not None:
        ref: Obj = {"kind": "Secret", "name": secret}
        if secret_namespace:
            ref["namespace"] = secret_namespace
        entry["tls"] = {"mode": "Terminate", "certificateRefs": [ref]}
    allowed: Obj = {}
    if namespaces is not None:
        allowed["namespaces"] = {"from": namespaces}
        if selector is not None:
            allowed["namespaces"]["selector"] = dict(selector)
    if kinds is not None:
        allowed["kinds"] = [{"kind": kind} for kind in kinds]
    if allowed:
        entry["allowedRoutes"] = allowed
    return entry


def gateway(
    name: str, *, namespace: str = "default", class_name: str = "ours", listeners: Sequence[Obj]
) -> Obj:
    """A Gateway of class `class_name`."""
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"gatewayClassName": class_name, "listeners": list(listeners)}}  # fmt: skip


def parent(
    name: str,
    *,
    namespace: str | None = None,
    section: str | None = None,
    port: int | None = None,
) -> Obj:
    """A parentRef to a Gateway, optionally to one listener by name or port."""
    ref: Obj = {"name": name}
    for key, value in (("namespace", namespace), ("sectionName", section), ("port", port)):
        if value is not None:
            ref[key] = value
    return ref


def path_match(value: str, kind: str = "PathPrefix", **conditions: Any) -> Obj:
    """One ``matches`` entry on a path, with other conditions (headers=...) as given."""
    return {"path": {"type": kind, "value": value}, **conditions}


def backend_ref(service: str, port: int = 80, *, weight: int | None = None, **fields: Any) -> Obj:
    """A backendRef to a Service port (kind, namespace... as given)."""
    ref: Obj = {"name": service, "port": port, **fields}
    if weight is not None:
        ref["weight"] = weight
    return ref


def route_rule(
    matches: Sequence[Obj] | None = None, backends: Sequence[Obj] = (), **fields: Any
) -> Obj:
    """One rule: matches (None leaves them out) and backendRefs."""
    rule: Obj = {"backendRefs": list(backends), **fields}
    if matches is not None:
        rule["matches"] = list(matches)
    return rule


def http_route(
    name: str,
    *,
    namespace: str = "default",
    parents: Sequence[Obj],
    hostnames: Sequence[str] = (),
    rules: Sequence[Obj],
    created: str | None = None,
) -> Obj:
    """An HTTPRoute; `created` sets creationTimestamp (older routes have precedence)."""
    metadata: Obj = {"name": name, "namespace": namespace}
    if created:
        metadata["creationTimestamp"] = created
    spec: Obj = {"parentRefs": list(parents), "rules": list(rules)}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": metadata, "spec": spec}


def method_match(
    service: str | None = None,
    method: str | None = None,
    *,
    kind: str | None = None,
    headers: Sequence[Obj] = (),
) -> Obj:
    """One GRPCRoute ``matches`` entry: a service and/or method (Exact unless `kind`), and
    header matches."""
    entry: Obj = {}
    chosen = {
        key: value
        for key, value in (("type", kind), ("service", service), ("method", method))
        if value is not None
    }
    if chosen:
        entry["method"] = chosen
    if headers:
        entry["headers"] = list(headers)
    return entry  # fmt: skip


def grpc_route(
    name: str,
    *,
    namespace: str = "default",
    parents: Sequence[Obj],
    hostnames: Sequence[str] = (),
    rules: Sequence[Obj],
    created: str | None = None,
) -> Obj:
    """A GRPCRoute (rules as `route_rule` makes them, with `method_match` matches)."""
    made = http_route(
        name,
        namespace=namespace,
        parents=parents,
        hostnames=hostnames,
        rules=rules,
        created=created,
    )
    return {**made, "kind": "GRPCRoute"}  # fmt: skip


def reference_grant(
    namespace: str, from_kind: str, from_namespace: str, to_kind: str, to_name: str | None = None
) -> Obj:
    """A ReferenceGrant in `namespace` letting `from_kind`s of `from_namespace` refer to it."""
    group = "" if to_kind in ("Service", "Secret") else "gateway.networking.k8s.io"
    to: Obj = {"group": group, "kind": to_kind}
    if to_name:
        to["name"] = to_name
    return {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
            "metadata": {"name": f"from-{from_namespace}", "namespace": namespace},
            "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": from_kind,
                               "namespace": from_namespace}], "to": [to]}}  # fmt: skip


def namespace(name: str, labels: Mapping[str, str]) -> Obj:
    """A Namespace with labels (for allowedRoutes selectors)."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": dict(labels)}}  # fmt: skip
