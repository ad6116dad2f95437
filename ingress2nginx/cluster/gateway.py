"""Gateway API objects from the live API: what is read, and which Secrets it makes us read.

``render``, ``check`` and ``explain --from-cluster`` list them once, beside the Ingresses
(`read_gateway_objects`, called by cluster/loading.py); ``watch --from-cluster`` keeps the
same kinds current with informers (`WATCHED`, run by cluster/caching.py).

Read: GatewayClasses, Gateways, HTTPRoutes, GRPCRoutes and ReferenceGrants (``v1beta1``, else
``v1``), in every namespace or in each ``--namespace``; Namespaces only when a Gateway selects
route namespaces by label (`selects_namespaces`). A cluster without the Gateway API's resource
definitions answers 404: that kind is simply absent, never an error. The TLS Secrets that
served listeners name (and may use: same namespace, or granted: `listener_secrets`) are
fetched by name with the Ingresses' Secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubernetes import client

from ingress2nginx.cluster.connecting import CUSTOM_OBJECTS, ClusterConnection, Resource
from ingress2nginx.core.errors import SourceError
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.gateway.grants import Grants
from ingress2nginx.normalize.gateway.selection import served_listeners

GROUP = "gateway.networking.k8s.io"

ALL, ONE = "list_cluster_custom_object", "list_namespaced_custom_object"

GATEWAY_CLASSES = Resource("GatewayClass", f"{GROUP}/v1", "gatewayclasses", CUSTOM_OBJECTS, ALL,
                           None, namespaced=False)  # fmt: skip
GATEWAYS = Resource("Gateway", f"{GROUP}/v1", "gateways", CUSTOM_OBJECTS, ALL, ONE)
HTTP_ROUTES = Resource("HTTPRoute", f"{GROUP}/v1", "httproutes", CUSTOM_OBJECTS, ALL, ONE)
GRPC_ROUTES = Resource("GRPCRoute", f"{GROUP}/v1", "grpcroutes", CUSTOM_OBJECTS, ALL, ONE)
REFERENCE_GRANTS = (
    Resource("ReferenceGrant", f"{GROUP}/v1beta1", "referencegrants", CUSTOM_OBJECTS, ALL, ONE),
    Resource("ReferenceGrant", f"{GROUP}/v1", "referencegrants", CUSTOM_OBJECTS, ALL, ONE),
)
"""Tried in order: the first version the cluster serves is read."""
WATCHED = ((GATEWAY_CLASSES,), (GATEWAYS,), (HTTP_ROUTES,), (GRPC_ROUTES,), REFERENCE_GRANTS)
"""What ``watch`` keeps current: one informer per entry (and scope), each reading the first
version of its entry the cluster serves, and none at all while the cluster serves none."""
SECRET_USERS = frozenset({"GatewayClass", "Gateway", "ReferenceGrant"})
"""The kinds that decide which Secrets served listeners use (`listener_secrets`)."""
NAMESPACES = Resource("Namespace", "v1", "namespaces", "CoreV1Api", "list_namespace", None,
                      namespaced=False)  # fmt: skip


def read_gateway_objects(
    connection: ClusterConnection,
    scopes: Mapping[bool, tuple[str | None, ...]],
    settings: Settings,
    lister: Callable[[ClusterConnection, Resource, str | None], Any],
) -> tuple[list[Manifest], set[tuple[str, str]]]:
    """The Gateway API objects (and Namespaces when needed), and the (namespace, name) of
    the Secrets served listeners use. `scopes` gives the namespaces to list namespaced kinds
    in (key True) and cluster-scoped ones (key False); `lister` is cluster/loading.py's
    ``list_with_retries``."""
    found: list[Manifest] = []
    for resource in (GATEWAY_CLASSES, GATEWAYS, HTTP_ROUTES, GRPC_ROUTES):
        found += _listed(connection, resource, scopes[resource.namespaced], lister) or []
    for resource in REFERENCE_GRANTS:
        grants = _listed(connection, resource, scopes[True], lister)
        if grants is not None:
            found += grants
            break
    if selects_namespaces(found):
        found += _listed(connection, NAMESPACES, (None,), lister) or []
    return found, listener_secrets(found, settings)


def listener_secrets(manifests: Iterable[Manifest], settings: Settings) -> set[tuple[str, str]]:
    """(namespace, name) of the TLS Secret of each listener served among `manifests` (which
    need only hold the `SECRET_USERS` kinds): its own namespace's, or a granted one's."""
    by_kind: dict[str, list[Manifest]] = {}
    for item in sorted((m for m in manifests if m.kind in SECRET_USERS), key=lambda m: m.age_key):
        by_kind.setdefault(item.kind, []).append(item)
    listeners = served_listeners(by_kind, settings, Grants(by_kind.get("ReferenceGrant", [])), [])
    return {listener.certificate for listener in listeners if listener.certificate}


def selects_namespaces(manifests: Iterable[Manifest]) -> bool:
    """Whether a Gateway among `manifests` selects route namespaces by label (then the
    Namespaces and their labels are read)."""
    return any(_selects_namespaces(m) for m in manifests if m.kind == "Gateway")


def _listed(
    connection: ClusterConnection,
    resource: Resource,
    scopes: tuple[str | None, ...],
    lister: Callable[[ClusterConnection, Resource, str | None], Any],
) -> list[Manifest] | None:
    """Every object of `resource` in `scopes`; None when the cluster does not serve it."""
    found: list[Manifest] = []
    for namespace in scopes:
        try:
            listing = lister(connection, resource, namespace)
        except SourceError as error:
            cause = error.__cause__
            if isinstance(cause, client.ApiException) and cause.status == 404:
                return None
            raise
        found.extend(listing.manifests)
    return found


def _selects_namespaces(gateway: Manifest) -> bool:
    spec = gateway.body.get("spec")
    listeners = spec.get("listeners") if isinstance(spec, Mapping) else None
    for listener in listeners if isinstance(listeners, list) else []:
        allowed = listener.get("allowedRoutes") if isinstance(listener, Mapping) else None
        namespaces = allowed.get("namespaces") if isinstance(allowed, Mapping) else None
        if isinstance(namespaces, Mapping) and namespaces.get("from") == "Selector":
            return True
    return False
