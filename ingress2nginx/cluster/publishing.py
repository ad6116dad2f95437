"""Ingress status: where the served Ingresses are reachable, for ``kubectl get ingress``.

With ``--publish-service NAMESPACE/NAME`` (the LoadBalancer Service in front of nginx) or
``--publish-status-address ADDR``, the watcher writes ``status.loadBalancer.ingress`` of every
Ingress it serves and clears it from Ingresses it stops serving. The Gateway API objects it
serves get their status too, with or without those options (gateway_publishing.py; the same
addresses are the Gateways' ``status.addresses``). With several replicas only one writes:
the holder of a ``coordination.k8s.io`` Lease, taken only while there is a status to write.
The Lease gates status writes and nothing else — every replica renders and serves on its own.

Leader election follows client-go's protocol: take the Lease when it is free or its holder has
not renewed it for ``leaseDurationSeconds``, renew it while leading, and let an update that lost
a race (409 Conflict) simply mean "not leading this round".
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client

from ingress2nginx.cluster.connecting import ClusterConnection, describe, read_json
from ingress2nginx.cluster.gateway_publishing import PLURALS, GatewayStatusWriter
from ingress2nginx.core.errors import Problem
from ingress2nginx.core.logs import fields
from ingress2nginx.core.objects import GATEWAY_KINDS, Inventory, Manifest
from ingress2nginx.core.settings import Settings

if TYPE_CHECKING:
    from ingress2nginx.normalize.normalizing import Translation
    from ingress2nginx.sources.loading import LoadResult

log = logging.getLogger("ingress2nginx.status")

Address = dict[str, str]
"""One ``status.loadBalancer.ingress`` entry: ``{"ip": ...}`` or ``{"hostname": ...}``."""


@dataclass(frozen=True, slots=True)
class PublishOptions:
    """Where the Ingresses are reachable, and how replicas agree on who writes it."""

    service: tuple[str, str] | None
    """(namespace, name) of the Service whose address is published."""
    addresses: tuple[str, ...]
    """Addresses published as they are (``--publish-status-address``)."""
    election_namespace: str
    identity: str
    """This replica's name in the Lease (the pod name)."""
    election_id: str = "ingress2nginx-status"
    lease_seconds: int = 30
    interval: float = 10.0
    """How often the leader checks the statuses (and renews its Lease)."""

    @property
    def ingresses(self) -> bool:
        """Whether Ingress statuses are written (an address source is given)."""
        return self.service is not None or bool(self.addresses)


class LeaderElection:
    """One replica's view of the Lease: `try_lead` says whether it leads right now."""

    def __init__(self, connection: ClusterConnection, options: PublishOptions) -> None:
        self._connection = connection
        self._options = options
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{options.election_namespace}/leases"

    def try_lead(self) -> bool:
        """Acquire or renew the Lease; False when another replica holds it (or on errors)."""
        options = self._options
        try:
            lease = read_json(self._connection.send("GET", f"{self._path}/{options.election_id}"))
        except client.ApiException as error:
            if error.status != 404:
                raise
            return self._create()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if holder not in (None, "", options.identity) and not _expired(spec):
            return False
        taking_over = holder != options.identity
        now = _micro_time()
        spec.update(holderIdentity=options.identity, leaseDurationSeconds=options.lease_seconds,
                    renewTime=now)  # fmt: skip
        if taking_over:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        lease["spec"] = spec
        return self._write("PUT", f"{self._path}/{options.election_id}", lease)

    def _create(self) -> bool:
        options = self._options
        now = _micro_time()
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": options.election_id, "namespace": options.election_namespace},
            "spec": {
                "holderIdentity": options.identity,
                "leaseDurationSeconds": options.lease_seconds,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        return self._write("POST", self._path, body)

    def _write(self, method: str, path: str, body: dict[str, Any]) -> bool:
        try:
            read_json(self._connection.send(method, path, body=body))
        except client.ApiException as error:
            if error.status == 409:
                return False
            raise
        return True


class StatusPublisher:
    """Writes Ingress and Gateway API statuses from its own thread while this replica leads."""

    def __init__(
        self,
        connection: ClusterConnection,
        options: PublishOptions,
        settings: Settings | None = None,
    ) -> None:
        self._connection = connection
        self._options = options
        self._election = LeaderElection(connection, options)
        self._wake = threading.Condition()
        self._stopping = False
        self._served: list[Manifest] = []
        self._others: list[Manifest] = []
        self._gateway: tuple[Inventory, tuple[Problem, ...]] | None = None
        """The Gateway API objects nginx runs, and the problems of their translation."""
        self.gateways = GatewayStatusWriter(connection, settings) if settings else None
        self._thread: threading.Thread | None = None
        self.leading = False

    def after_apply(self, translation: Translation, loaded: LoadResult) -> None:
        """The watcher's hook: nginx now runs `translation`."""
        ingresses = [manifest for manifest in loaded.manifests if manifest.kind == "Ingress"]
        current = {ingress.key: ingress for ingress in ingresses}
        # an Ingress served at its last good version (lastgood.py) is published as it is now:
        # the old version's status would be written again and again
        self.offer([current.get(ingress.key, ingress) for ingress in translation.served], ingresses)
        if self.gateways is not None:
            self.offer_gateway(loaded.manifests, translation.problems)

    def offer_gateway(self, manifests: Sequence[Manifest], problems: Sequence[Problem]) -> None:
        """The objects (of every kind) of the translation nginx runs, and its problems."""
        kept = [item for item in manifests if item.kind in GATEWAY_KINDS or item.kind == "Secret"]
        state = None
        if any(item.kind in PLURALS for item in kept):
            state = (Inventory.build(kept), tuple(problems))
        with self._wake:
            self._gateway = state
            self._wake.notify_all()

    def offer(self, served: Sequence[Manifest], ingresses: Sequence[Manifest]) -> None:
        """The Ingresses served now, and every Ingress known (to clear the others)."""
        keys = {ingress.key for ingress in served}
        with self._wake:
            self._served = list(served)
            self._others = [ingress for ingress in ingresses if ingress.key not in keys]
            self._wake.notify_all()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingress2nginx-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                pending = self._options.ingresses or self._gateway is not None
            try:
                if pending:  # else no Lease is needed
                    self.leading = self._election.try_lead()
                if self.leading:
                    self.publish_pending()
            except Exception as error:  # never let the status thread die
                log.warning("cannot update statuses", extra=fields(reason=describe(error)))
            with self._wake:
                if not self._stopping:
                    self._wake.wait(self._options.interval)

    def publish_pending(self) -> int:
        """Write what differs for the last translation offered (the leader's job); returns
        how many statuses were written."""
        with self._wake:
            served, others, gateway = list(self._served), list(self._others), self._gateway
        addresses = self.addresses()
        written = 0
        if self._options.ingresses:
            written += self.publish(served, others, addresses)
        if gateway is not None and self.gateways is not None:
            written += self.gateways.publish(*gateway, addresses)
        return written

    def publish(
        self,
        served: Sequence[Manifest],
        others: Sequence[Manifest],
        addresses: list[Address] | None = None,
    ) -> int:
        """Write the Ingress statuses that differ; returns how many were written."""
        addresses = self.addresses() if addresses is None else addresses
        written = 0
        for ingress in served:
            if current_addresses(ingress) != addresses:
                written += self._patch(ingress, addresses)
        for ingress in others:
            current = current_addresses(ingress)
            if current and current == addresses:
                written += self._patch(ingress, [])
        return written

    def addresses(self) -> list[Address]:
        """The addresses to publish: the Service's, then the static ones, sorted."""
        found = [_address(text) for text in self._options.addresses]
        if self._options.service is not None:
            namespace, name = self._options.service
            path = f"/api/v1/namespaces/{namespace}/services/{name}"
            service = read_json(self._connection.send("GET", path))
            found += service_addresses(service)
        unique = {tuple(sorted(address.items())): address for address in found}
        return [unique[key] for key in sorted(unique)]

    def _patch(self, ingress: Manifest, addresses: list[Address]) -> int:
        body = {"status": {"loadBalancer": {"ingress": addresses}}}
        try:
            path = (
                f"/apis/networking.k8s.io/v1/namespaces/{ingress.namespace}"
                f"/ingresses/{ingress.name}/status"
            )
            patch = "application/merge-patch+json"
            read_json(self._connection.send("PATCH", path, body=body, content_type=patch))
        except client.ApiException as error:
            if error.status == 404:
                return 0
            raise
        log.info("ingress status updated", extra=fields(
            ingress=f"{ingress.namespace}/{ingress.name}",
            addresses=",".join(next(iter(a.values())) for a in addresses) or "(cleared)",
        ))  # fmt: skip
        return 1


SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def default_election_namespace() -> str:
    """The pod's namespace: $POD_NAMESPACE, else the service account's, else ``default``."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return Path(SERVICE_ACCOUNT_NAMESPACE).read_text().strip() or "default"
    except OSError:
        return "default"


def default_identity() -> str:
    """This replica's name: $POD_NAME, else the host name (a pod's name by default)."""
    return os.environ.get("POD_NAME") or socket.gethostname()


def service_addresses(service: dict[str, Any]) -> list[Address]:
    """Where a Service is reachable from outside: a LoadBalancer's ingress points, an
    ExternalName, else its external IPs, else its cluster IP (as ingress-nginx does)."""
    spec = service.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return [{"hostname": str(spec.get("externalName", ""))}]
    found: list[Address] = []
    if kind == "LoadBalancer":
        for point in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            entry = {key: str(point[key]) for key in ("ip", "hostname") if point.get(key)}
            if entry:
                found.append(entry)
    found += [_address(ip) for ip in spec.get("externalIPs") or []]
    cluster_ip = spec.get("clusterIP")
    if not found and kind != "LoadBalancer" and cluster_ip and cluster_ip != "None":
        found.append({"ip": str(cluster_ip)})
    return found


def current_addresses(ingress: Manifest) -> list[Address]:
    """The Ingress's published addresses, sorted, as `StatusPublisher.addresses` gives them."""
    status = ingress.body.get("status") or {}
    points = ((status.get("loadBalancer") or {}).get("ingress")) or []
    entries = [
        {key: str(point[key]) for key in ("ip", "hostname") if point.get(key)}
        for point in points
        if isinstance(point, dict)
    ]
    unique = {tuple(sorted(entry.items())): entry for entry in entries if entry}
    return [unique[key] for key in sorted(unique)]


def _address(text: str) -> Address:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return {"hostname": text}
    return {"ip": text}


def _micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expired(spec: dict[str, Any]) -> bool:
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    if not isinstance(renewed, str):
        return True
    try:
        when = datetime.datetime.fromisoformat(renewed.replace("Z", "+00:00"))
    except ValueError:
        return True
    duration = datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 15))
    return datetime.datetime.now(datetime.UTC) > when + duration
