"""EndpointSlices (and legacy Endpoints) into the ready endpoints of a Service port.

backends.py asks which addresses serve a Service port; this module reads them from one endpoint
object at a time: ready endpoints only, at the target port listed under the Service port's
name, each address parsed once (to check it, write it in canonical form, and order it).
What one object gives one port name depends on that object alone, so a translator keeps it in
an `EndpointsMemo` between translations: in watch mode, an unchanged EndpointSlice is never
read again.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.errors import shown
from ingress2nginx.core.objects import Manifest, ManifestMemo
from ingress2nginx.model import Endpoint

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")
"""An IPv4 address in the form `ipaddress` writes it (no leading zeros): most endpoints, read
without building an address object."""

SortKey = tuple[int, int, int]
"""How endpoints are ordered: IP version, address as a number, port."""


@dataclass(frozen=True, slots=True)
class PortEndpoints:
    """What one EndpointSlice (or Endpoints object) gives one Service port name."""

    endpoints: tuple[Endpoint, ...]
    """Its ready endpoints, each once, sorted by `SortKey`."""
    order: tuple[SortKey, ...]
    """The sort key of each endpoint, so merging objects parses no address again."""
    skipped: tuple[tuple[str, str], ...]
    """(field, reason) of each address skipped as not an IP address, to report."""


NO_ENDPOINTS = PortEndpoints((), (), ())
"""What an object without a ready endpoint for the port (and nothing skipped) gives."""

EndpointsMemo = ManifestMemo[dict[str, PortEndpoints]]
"""Per endpoint object: its `PortEndpoints` by Service port name."""


def slice_endpoints(endpoint_slice: Manifest, port_name: str) -> PortEndpoints:
    """The ready endpoints an EndpointSlice lists for a Service port name."""
    body = endpoint_slice.body
    if body.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
        return NO_ENDPOINTS
    target = target_port(body.get("ports"), port_name)
    if target is None:
        return NO_ENDPOINTS
    found = _Collected()
    for index, entry in enumerate(mappings(body.get("endpoints"))):
        conditions = entry.get("conditions")
        if isinstance(conditions, dict | Mapping) and conditions.get("ready") is False:
            continue  # (a dict, as parsed, is checked first: an ABC check costs more)
        addresses = entry.get("addresses")
        for address in addresses if isinstance(addresses, list) else ():
            if isinstance(address, str):
                found.add(address, target, "endpoints", index)
    return found.result()


def legacy_endpoints(endpoints: Manifest, port_name: str) -> PortEndpoints:
    """The endpoints a (legacy) Endpoints object lists for a Service port name."""
    found = _Collected()
    for index, subset in enumerate(mappings(endpoints.body.get("subsets"))):
        target = target_port(subset.get("ports"), port_name)
        if target is None:
            continue
        for address in mappings(subset.get("addresses")):
            found.add(address.get("ip"), target, "subsets", index)
    return found.result()


def merged(parts: Sequence[PortEndpoints]) -> tuple[Endpoint, ...]:
    """The endpoints of several objects (one Service's slices), each once, sorted."""
    if len(parts) == 1:
        return parts[0].endpoints
    found: dict[SortKey, Endpoint] = {}
    for part in parts:
        found.update(zip(part.order, part.endpoints, strict=True))
    return tuple([found[key] for key in sorted(found)])


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A plain IPv4 or IPv6 address (no IPv6 zone: ``%`` has no place in an upstream)."""
    if "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def target_port(ports: object, port_name: str) -> int | None:
    """The port an EndpointSlice or Endpoints subset lists under the Service port's name."""
    for port in mappings(ports):
        if port_name_of(port) == port_name and port.get("protocol", "TCP") == "TCP":
            return port_number(port.get("port"))
    return None


def mappings(value: object) -> Iterable[Mapping[str, Any]]:
    """The objects of a JSON list (anything else in it, or a non-list, is left out)."""
    if not isinstance(value, list):
        return ()
    # a dict, as parsed, is checked first: an ABC check costs more
    return [item for item in value if type(item) is dict or isinstance(item, Mapping)]


def port_number(value: object) -> int | None:
    """A valid port number, or None for anything else (bools included)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    return None


def port_name_of(port: Mapping[str, Any]) -> str:
    """A port's name; empty when it has none."""
    name = port.get("name")
    return name if isinstance(name, str) else ""


class _Collected:
    """Endpoints found so far, by sort key (each address parsed once), and the addresses
    skipped. A sort key is one endpoint: only one canonical address has a given version and
    number."""

    __slots__ = ("found", "skipped")

    def __init__(self) -> None:
        self.found: dict[SortKey, Endpoint] = {}
        self.skipped: list[tuple[str, str]] = []

    def add(self, address: object, port: int, listed_in: str, index: int) -> None:
        """Take one address of item `index` of the object's `listed_in` list, at `port`."""
        if isinstance(address, str) and _IPV4.match(address):  # as ipaddress writes it
            first, second, third, fourth = address.split(".")
            number = int(first) << 24 | int(second) << 16 | int(third) << 8 | int(fourth)
            key = (4, number, port)
            if key not in self.found:
                self.found[key] = Endpoint(address, port)
            return
        ip = parse_ip(address) if isinstance(address, str) else None
        if ip is None:
            where = f"{listed_in}[{index}].addresses"
            self.skipped.append((where, f"{shown(address)} is not an IP address; skipped"))
            return
        key = (ip.version, int(ip), port)
        if key not in self.found:
            self.found[key] = Endpoint(str(ip), port)

    def result(self) -> PortEndpoints:
        if not self.found and not self.skipped:
            return NO_ENDPOINTS
        order = sorted(self.found)
        found = self.found
        return PortEndpoints(
            tuple([found[key] for key in order]), tuple(order), tuple(self.skipped)
        )
