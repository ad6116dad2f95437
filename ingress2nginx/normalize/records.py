"""The DNS records of dns mode: which addresses serve each Service port, as SRV and A records.

In dns mode (``--endpoints dns``, docs/watch.md) an upstream names a Service port by an SRV
name (`srv_name`) and nginx re-resolves it at run time from the sidecar's DNS responder
(dnsresponder.py). This module is the pure part: from a Service and its EndpointSlices (or
legacy Endpoints) to the targets of each of its ports, with the Kubernetes conditions:

- an endpoint is *ready* unless ``conditions.ready`` is false (nil means ready);
- it is *serving* as ``conditions.serving`` says, or as ready says when that is nil;
- it is *terminating* only when ``conditions.terminating`` is true.

A port's targets are its ready endpoints; when none is ready, its endpoints that are serving
while terminating (as kube-proxy falls back to them, so a rolling update of the last pod does
not cut requests short); when there are none of those either, the stand-in that answers 503
(`Unavailable`). A Service with no endpoint object at all is reached at its ClusterIP, as
kube-proxy would route it (no ClusterIP: the stand-in).

SRV targets are host names that spell the address (`target_host`), so an A or AAAA query for
one is answered from the name alone (`address_of`), whichever Service listed it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.features.dns_upstreams import DEFAULT_TTL as DEFAULT_TTL
from ingress2nginx.features.dns_upstreams import Target as Target
from ingress2nginx.features.dns_upstreams import Unavailable as Unavailable
from ingress2nginx.features.dns_upstreams import service_host as service_host
from ingress2nginx.normalize.endpoints import (
    mappings,
    parse_ip,
    port_name_of,
    port_number,
    target_port,
)

TARGET_LABEL = "endpoint"
"""Target hosts are ``<address>.endpoint.<cluster domain>`` (kube DNS uses ``svc`` and
``pod`` under the cluster domain, never ``endpoint``)."""


RecordSet = dict[str, tuple[Target, ...]]
"""SRV name (lowercase, no trailing dot) -> its targets, sorted."""


def srv_name(namespace: str, service: str, port: int, domain: str) -> str:
    """The SRV name of a Service port (by number): ``_80._tcp.web.shop.svc.cluster.local``."""
    return f"_{port}._tcp.{service_host(namespace, service, domain)}"


def target_host(address: str, domain: str, port: int | None = None) -> str:
    """The host name an SRV target spells its address with: ``10-1-2-3.endpoint.<domain>``
    (IPv6 in full, ``:`` as ``-``), with ``p<port>.`` in front when given: nginx's consistent
    hashing tells servers apart by name, so two endpoints on one address need two names."""
    ip = ipaddress.ip_address(address)
    text = str(ip).replace(".", "-") if ip.version == 4 else ip.exploded.replace(":", "-")
    prefix = f"p{port}." if port is not None else ""
    return f"{prefix}{text}.{TARGET_LABEL}.{domain}"


def address_of(host: str, domain: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a target host spells (`target_host` read back); None for any other name."""
    suffix = f".{TARGET_LABEL}.{domain}"
    if not host.endswith(suffix):
        return None
    labels = host[: -len(suffix)].split(".")
    if len(labels) == 2 and re.fullmatch(r"p[0-9]{1,5}", labels[0]):
        labels = labels[1:]
    if len(labels) != 1:
        return None
    label = labels[0]
    text = label.replace("-", ".") if label.count("-") == 3 else label.replace("-", ":")
    return parse_ip(text)


def service_records(
    service: Manifest,
    slices: Sequence[Manifest],
    legacy: Manifest | None,
    domain: str,
    unavailable: Unavailable,
) -> RecordSet:
    """The SRV records of every port of `service`, from its EndpointSlices (else Endpoints)."""
    spec = service.body.get("spec")
    if not isinstance(spec, Mapping) or spec.get("type") == "ExternalName":
        return {}
    namespace, name = service.key
    records: RecordSet = {}
    for port in mappings(spec.get("ports")):
        number = port_number(port.get("port"))
        if number is None or port.get("protocol", "TCP") != "TCP":
            continue
        if slices:
            targets = slice_targets(slices, port_name_of(port))
        elif legacy is not None:
            targets = legacy_targets(legacy, port_name_of(port))
        else:
            targets = _cluster_ip_target(spec.get("clusterIP"), number)
        records[srv_name(namespace, name, number, domain)] = targets or (unavailable.target(),)
    return records


def all_records(
    services: Iterable[Manifest],
    slices: Mapping[tuple[str, str], Sequence[Manifest]],
    legacy: Mapping[tuple[str, str], Manifest],
    domain: str,
    unavailable: Unavailable,
) -> RecordSet:
    """The SRV records of every Service port (an inventory's Services and endpoint objects)."""
    records: RecordSet = {}
    for service in services:
        found = service_records(
            service, slices.get(service.key, ()), legacy.get(service.key), domain, unavailable
        )
        records.update(found)
    return records


def slice_targets(slices: Sequence[Manifest], port_name: str) -> tuple[Target, ...]:
    """Ready targets of a Service port over its EndpointSlices; else serving terminating ones."""
    ready: set[Target] = set()
    terminating: set[Target] = set()
    for endpoint_slice in slices:
        body = endpoint_slice.body
        if body.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        port = target_port(body.get("ports"), port_name)
        if port is None:
            continue
        for entry in mappings(body.get("endpoints")):
            state = condition_of(entry.get("conditions"))
            wanted = ready if state == "ready" else terminating if state == "draining" else None
            if wanted is not None:
                wanted.update(_targets(entry.get("addresses"), port))
    return tuple(sorted(ready or terminating, key=_order))


def condition_of(conditions: object) -> str:
    """``ready``, ``draining`` (serving while terminating) or ``out`` for an endpoint."""
    found: Mapping[str, Any] = conditions if isinstance(conditions, Mapping) else {}
    ready = found.get("ready") is not False
    serving = found.get("serving")
    serving = ready if serving is None else serving is True
    if ready:
        return "ready"
    if serving and found.get("terminating") is True:
        return "draining"
    return "out"


def legacy_targets(endpoints: Manifest, port_name: str) -> tuple[Target, ...]:
    """Ready targets of a Service port in an Endpoints object (``notReadyAddresses`` left out)."""
    found: set[Target] = set()
    for subset in mappings(endpoints.body.get("subsets")):
        port = target_port(subset.get("ports"), port_name)
        if port is not None:
            ips = [address.get("ip") for address in mappings(subset.get("addresses"))]
            found.update(_targets(ips, port))
    return tuple(sorted(found, key=_order))


def _targets(addresses: object, port: int) -> Iterable[Target]:
    """A Target for each valid IP address of a list (anything else is left out: the
    translator already reports bad addresses)."""
    for address in addresses if isinstance(addresses, list) else ():
        ip = parse_ip(address) if isinstance(address, str) else None
        if ip is not None:
            yield Target(str(ip), port)


def _cluster_ip_target(cluster_ip: object, port: int) -> tuple[Target, ...]:
    ip = parse_ip(cluster_ip) if isinstance(cluster_ip, str) else None
    return (Target(str(ip), port),) if ip is not None else ()


def _order(target: Target) -> tuple[int, int, int]:
    ip = ipaddress.ip_address(target.address)
    return ip.version, int(ip), target.port


def inventory_records(inventory: Inventory, domain: str, unavailable: Unavailable) -> RecordSet:
    """The SRV records of every Service port an inventory holds."""
    services = inventory.services.values()
    return all_records(
        services, inventory.endpoint_slices, inventory.endpoints, domain, unavailable
    )


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[ip6]:PORT`` for IPv6) of ``--dns-listen``; ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if host.startswith("[") else host
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"--dns-listen: not ADDR:PORT: {text!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--dns-listen: not an IP address: {host!r}") from None
    return host, int(port)


def relay_addresses(resolvers: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """(address, port) of each ``--resolver`` entry (``ip``, ``ip:port``, ``[ip6]:port``)."""
    found = []
    for entry in resolvers:
        try:
            found.append((str(ipaddress.ip_address(entry)), 53))
            continue
        except ValueError:
            pass
        host, _, port = entry.rpartition(":")
        found.append((host.strip("[]"), int(port)))
    return tuple(found)
