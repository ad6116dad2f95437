"""Gateway API status in the cluster: the ``status`` subresource of GatewayClasses, Gateways
and routes (HTTPRoutes, GRPCRoutes), written once nginx runs their config (``watch
--from-cluster``).

What the status says is normalize/gateway/status.py's (from the translation nginx now runs)
and how it merges with the cluster's is status_merging.py's; this module writes it. Each
object whose merged status differs from the one it has gets one JSON merge patch on its
``/status``, carrying the ``metadata.resourceVersion`` the status was computed from: the API
server refuses it (409 Conflict) when the object changed since, and a deleted object answers
404. Neither is an error: the changed or deleted object arrives with the next pass, which
computes its status again. Nothing is written for an object whose status is already ours, nor
twice for the same version of an object (our own write reaches the cache a moment later).

Only the Lease holder writes (publishing.py's `StatusPublisher` calls `publish`).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client

from ingress2nginx.cluster.connecting import ClusterConnection, read_json
from ingress2nginx.core.errors import Problem
from ingress2nginx.core.logs import fields
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.gateway.status import ObjectStatus, desired_statuses
from ingress2nginx.normalize.gateway.status_merging import merged_status

log = logging.getLogger("ingress2nginx.status")

API = "/apis/gateway.networking.k8s.io/v1"
PLURALS = {
    "GatewayClass": "gatewayclasses",
    "Gateway": "gateways",
    "HTTPRoute": "httproutes",
    "GRPCRoute": "grpcroutes",
}

Identity = tuple[str, str, str]
"""(kind, namespace, name)."""


class GatewayStatusWriter:
    """Writes the Gateway API statuses that differ from the cluster's."""

    def __init__(self, connection: ClusterConnection, settings: Settings) -> None:
        self._connection = connection
        self._settings = settings
        self._written: dict[Identity, tuple[object, Any]] = {}
        """Per object: the resourceVersion our last write was computed from, and what was
        written (or the status code that refused it)."""

    def publish(
        self,
        inventory: Inventory,
        problems: Sequence[Problem],
        addresses: Sequence[Mapping[str, str]],
    ) -> int:
        """Write what differs, for the translation nginx runs (`problems` are its problems);
        `addresses` are ``status.loadBalancer`` style (``{"ip": ...}``). How many were
        written."""
        entries = [_gateway_address(address) for address in addresses]
        wanted = desired_statuses(inventory, self._settings, problems, entries)
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        written = 0
        for item in wanted:
            status = merged_status(item, now)
            if status is not None:
                written += self._write(item, status)
        current = {(item.manifest.kind, item.manifest.namespace, item.manifest.name)
                   for item in wanted}  # fmt: skip
        self._written = {key: value for key, value in self._written.items() if key in current}
        return written

    def _write(self, item: ObjectStatus, status: dict[str, Any]) -> int:
        manifest = item.manifest
        identity = (manifest.kind, manifest.namespace, manifest.name)
        version = manifest.metadata.get("resourceVersion")
        before = self._written.get(identity)
        if before is not None and before[0] == version and _same(before[1], status):
            return 0  # written already from this version; the cache has not caught up
        body = {"metadata": {"resourceVersion": version}, "status": status}
        patch = "application/merge-patch+json"
        try:
            response = self._connection.send(
                "PATCH", status_path(manifest), body=body, content_type=patch
            )
            read_json(response)
        except client.ApiException as error:
            if error.status not in (404, 409):
                raise
            self._written[identity] = (version, error.status)
            log.info("status not written: the object changed or is gone; next pass",
                     extra=fields(object=str(manifest.ref), code=error.status))  # fmt: skip
            return 0
        self._written[identity] = (version, status)
        log.info("gateway API status updated", extra=fields(object=str(manifest.ref)))
        return 1


def _same(before: Any, status: dict[str, Any]) -> bool:
    """Whether an earlier write (or refusal) stands for `status` (lastTransitionTime aside:
    a refused write is not retried from the same version)."""
    if isinstance(before, int):
        return True
    return bool(_untimed(before) == _untimed(status))


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_untimed(item) for item in value]
    return value


def status_path(manifest: Manifest) -> str:
    """The API path of an object's status subresource."""
    plural = PLURALS[manifest.kind]
    if manifest.kind == "GatewayClass":
        return f"{API}/{plural}/{manifest.name}/status"
    return f"{API}/namespaces/{manifest.namespace}/{plural}/{manifest.name}/status"


def _gateway_address(address: Mapping[str, str]) -> dict[str, str]:
    """A ``status.loadBalancer.ingress`` style address as a Gateway's ``status.addresses``
    entry."""
    if "ip" in address:
        return {"type": "IPAddress", "value": address["ip"]}
    return {"type": "Hostname", "value": address.get("hostname", "")}
