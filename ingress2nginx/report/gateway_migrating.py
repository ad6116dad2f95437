"""``migration-report --to-gateway-api``: the HTTPRoutes that route as the served Ingresses do.

For each served Ingress (oldest first), one HTTPRoute per rule host (named after the
Ingress, with ``-<n>`` for its second rule on), keeping its namespace and
creationTimestamp, so that "the oldest claim wins" carries over as the Gateway API's "the
oldest route wins"; and one Gateway (``ingress2nginx`` in the namespace of
``--gateway-namespace``) of ``--gateway-class`` with an HTTP listener admitting routes from
every namespace, and an HTTPS listener per TLS host with its Secret (and the ReferenceGrant
a Secret in another namespace needs).

Paths: Exact stays Exact; Prefix, and ImplementationSpecific on a host without regex paths
(both element-wise prefixes here), become PathPrefix. A host's requests no path matches go
to its default backend in an Ingress but to a 404 in the Gateway API, so a host with a
default backend and no ``Prefix /`` gets a ``PathPrefix /`` rule to it; the global default
backend becomes a route without hostnames. What cannot be said the same way is left out and
listed: regex paths (ingress-nginx regexes are case-insensitive prefixes, the Gateway API's
whole-path and case-sensitive), wildcard hosts (an Ingress ``*.foo.com`` matches one label,
a Gateway API one several), ports given by name without the Service, annotations (their
behaviour is not part of these objects), and the redirect of plain HTTP to HTTPS on TLS hosts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.model import PathType
from ingress2nginx.normalize.ingress_view import (
    DEFAULT_BACKEND_FIELD,
    IngressView,
    Rule,
    ServiceBackend,
)
from ingress2nginx.normalize.normalizing import Translation
from ingress2nginx.normalize.validating import validate_ingress

GATEWAY_API = "gateway.networking.k8s.io/v1"
GATEWAY_NAME = "ingress2nginx"
PATH_TYPES = {"Exact": "Exact", "Prefix": "PathPrefix", "ImplementationSpecific": "PathPrefix"}

Obj = dict[str, Any]


def gateway_api_objects(
    translation: Translation, inventory: Inventory, settings: Settings, namespace: str
) -> tuple[list[Obj], list[str]]:
    """The Gateway, ReferenceGrants and HTTPRoutes routing as the Ingresses `translation`
    serves, and a note for each thing left out."""
    notes: list[str] = []
    routes: list[Obj] = []
    tls_hosts: dict[str, tuple[str, str]] = {}
    served = [(ingress, _view(ingress)) for ingress in translation.served]
    default = _global_default(served, inventory, namespace, notes)
    for ingress, view in served:
        own = _backend(ingress, view.default_backend, inventory, [])
        fallback = own if own is not None else default[1] if default else None
        for index, rule in enumerate(view.rules):
            made = _rule_route(ingress, index, rule, fallback, inventory, namespace, notes)
            if made is not None:
                routes.append(made)
        _tls(ingress, view, tls_hosts, notes)
    if default is not None:
        routes.append(default[0])
    gateway = _gateway(settings, namespace, tls_hosts)
    grants = [*_grants(namespace, tls_hosts), *_service_grants(routes)]
    return [gateway, *grants, *routes], notes


def _rule_route(ingress: Manifest, index: int, rule: Rule, fallback: Obj | None,
                inventory: Inventory, namespace: str, notes: list[str]) -> Obj | None:  # fmt: skip
    host = rule.host
    named = f"{ingress.namespace}/{ingress.name}"
    if host.startswith("*."):
        notes.append(f"{named} {rule.field}: wildcard host {host} left out (one label in an"
                     " Ingress, one or more in the Gateway API)")  # fmt: skip
        return None
    rules, prefix_root = [], False
    for path in rule.paths:
        written = path.path or "/"
        if path.path_type is PathType.IMPLEMENTATION_SPECIFIC and _uses_regex(ingress):
            notes.append(f"{named} {path.field}: regex path left out (no Gateway API equivalent)")
            continue
        backend = _backend(ingress, path.backend, inventory, notes, path.field)
        if backend is None:
            continue
        kind = PATH_TYPES[path.path_type]
        prefix_root = prefix_root or (kind == "PathPrefix" and written.rstrip("/") == "")
        rules.append(_rule({"path": {"type": kind, "value": written}}, backend))
    if fallback is not None and not prefix_root:
        rules.append(_rule(None, fallback))
    if not rules:
        return None
    name = ingress.name if index == 0 else f"{ingress.name}-{index}"
    return _route(ingress, name, namespace, host or None, rules)


def _uses_regex(ingress: Manifest) -> bool:
    annotations = ingress.annotations
    prefix = "nginx.ingress.kubernetes.io/"
    return (
        annotations.get(f"{prefix}use-regex") == "true" or f"{prefix}rewrite-target" in annotations
    )


def _view(ingress: Manifest) -> IngressView:
    """The validated spec of a served Ingress (served Ingresses are valid)."""
    view = validate_ingress(ingress).view
    assert view is not None, f"{ingress.ref} is served, so it is valid"
    return view


def _backend(ingress: Manifest, backend: ServiceBackend | None, inventory: Inventory,
             notes: list[str], field: str = DEFAULT_BACKEND_FIELD) -> Obj | None:  # fmt: skip
    """A backendRef for `backend`, found at `field` (named in a note when it is left out)."""
    if backend is None:
        return None
    port = backend.port
    number = port if isinstance(port, int) else None
    if number is None:
        number = _named_port(inventory, ingress.namespace, backend.name, port)
    if number is None:
        notes.append(f"{ingress.namespace}/{ingress.name} {field}: port {port} is named and"
                     " its Service is not in the input; left out")  # fmt: skip
        return None
    return {"name": backend.name, "namespace": ingress.namespace, "port": number}


def _named_port(inventory: Inventory, namespace: str, name: str, port: object) -> int | None:
    service = inventory.services.get((namespace, name))
    spec = service.body.get("spec") if service is not None else None
    ports = spec.get("ports") if isinstance(spec, Mapping) else None
    for entry in ports if isinstance(ports, list) else []:
        if isinstance(entry, Mapping) and entry.get("name") == port:
            number = entry.get("port")
            return number if isinstance(number, int) else None
    return None


def _rule(match: Obj | None, backend: Obj) -> Obj:
    rule: Obj = {}
    if match is not None:
        rule["matches"] = [match]
    rule["backendRefs"] = [dict(backend)]
    return rule


def _route(ingress: Manifest, name: str, namespace: str, host: str | None,
           rules: list[Obj]) -> Obj:  # fmt: skip
    metadata: Obj = {"name": name, "namespace": ingress.namespace}
    stamp = ingress.metadata.get("creationTimestamp")
    if stamp is not None:
        metadata["creationTimestamp"] = str(stamp)
    spec: Obj = {"parentRefs": [{"name": GATEWAY_NAME, "namespace": namespace}]}
    if host:
        spec["hostnames"] = [host]
    for rule in rules:
        for ref in rule["backendRefs"]:
            if ref.get("namespace") == ingress.namespace:
                del ref["namespace"]
    spec["rules"] = rules
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": metadata, "spec": spec}


def _global_default(served: Sequence[tuple[Manifest, IngressView]], inventory: Inventory,
                    namespace: str, notes: list[str]) -> tuple[Obj, Obj] | None:  # fmt: skip
    """(route, backendRef) of the global default backend: the default backend of the oldest
    Ingress without rules, else of the oldest with one (routing.py's rule)."""
    candidates = sorted(served, key=lambda pair: bool(pair[1].rules))
    for ingress, view in candidates:
        fallback = _backend(ingress, view.default_backend, inventory, notes)
        if fallback is not None:
            route = _route(ingress, f"{ingress.name}-default", namespace, None,
                           [_rule(None, fallback)])  # fmt: skip
            return route, fallback
    return None


def _tls(ingress: Manifest, view: IngressView, hosts: dict[str, tuple[str, str]],
         notes: list[str]) -> None:  # fmt: skip
    for entry in view.tls:
        secret = entry.secret_name
        for host in entry.hosts:
            if secret and host not in hosts and not host.startswith("*."):
                hosts[host] = (ingress.namespace, secret)
    if view.tls:
        notes.append(f"{ingress.namespace}/{ingress.name}: plain HTTP on its TLS hosts is served,"
                     " not redirected to HTTPS (add a RequestRedirect route to do so)")  # fmt: skip


def _gateway(settings: Settings, namespace: str, tls_hosts: dict[str, tuple[str, str]]) -> Obj:
    everyone = {"namespaces": {"from": "All"}}
    listeners: list[Obj] = [{"name": "http", "port": 80, "protocol": "HTTP",
                             "allowedRoutes": everyone}]  # fmt: skip
    for index, host in enumerate(sorted(tls_hosts)):
        secret_namespace, secret = tls_hosts[host]
        ref: Obj = {"kind": "Secret", "name": secret}
        if secret_namespace != namespace:
            ref["namespace"] = secret_namespace
        listeners.append({"name": f"https-{index}", "port": 443, "protocol": "HTTPS",
                          "hostname": host, "allowedRoutes": everyone,
                          "tls": {"mode": "Terminate", "certificateRefs": [ref]}})  # fmt: skip
    spec = {"gatewayClassName": settings.gateway_class, "listeners": listeners}
    metadata = {"name": GATEWAY_NAME, "namespace": namespace}
    return {"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": metadata, "spec": spec}


def _grants(namespace: str, tls_hosts: dict[str, tuple[str, str]]) -> list[Obj]:
    spaces = sorted({space for space, _ in tls_hosts.values() if space != namespace})
    return [{"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": f"{GATEWAY_NAME}-certificates", "namespace": space},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                "namespace": namespace}],
                      "to": [{"group": "", "kind": "Secret"}]}} for space in spaces]  # fmt: skip


def _service_grants(routes: list[Obj]) -> list[Obj]:
    """A ReferenceGrant per Service namespace that routes of other namespaces use (the
    global default backend)."""
    pairs = sorted({(ref["namespace"], route["metadata"]["namespace"]) for route in routes
                    for rule in route["spec"]["rules"] for ref in rule["backendRefs"]
                    if "namespace" in ref})  # fmt: skip
    return [{"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": f"{GATEWAY_NAME}-from-{source}", "namespace": target},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                "namespace": source}],
                      "to": [{"group": "", "kind": "Service"}]}}
            for target, source in pairs]  # fmt: skip
