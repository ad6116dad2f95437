"""Upstreams whose servers nginx resolves at run time (nginx 1.27.3 and later).

Two cases give a Service port an upstream nginx resolves itself, with ``server HOST
service=SRV resolve`` in a shared ``zone``, re-resolved when its TTL runs out, with no reload:

- dns mode (``--endpoints dns``, docs/watch.md): every Service port, by its number, from the
  sidecar's DNS responder (dnsresponder.py, records.py), which is then nginx's ``resolver``
  and relays every other name to the cluster DNS;
- a port given by name for a Service that is not in the input: the cluster DNS publishes
  ``_<port name>._tcp.<service>.<namespace>.svc.<cluster domain>`` for named Service ports,
  so nginx finds the port there, through the ``--resolver`` it already uses.

A Service port left with no endpoint is answered, in dns mode, by a stand-in server on
loopback that returns 503 (`stand_in_view`): nginx itself would answer 502 for an upstream
with nothing to connect to, where ingress-nginx answers 503.

This module says how such upstreams and the http-level ``resolver`` are written; rendering.py
calls it, backends.py makes the `ResolvedServer` of each.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingress2nginx.core.actions import ResolvedServer
from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.core.settings import Settings

if TYPE_CHECKING:
    from ingress2nginx.model import Upstream


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One SRV target: an address (canonical form) and the port it serves on."""

    address: str
    port: int


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The stand-in that answers 503 for a Service port with nothing to serve it."""

    address: str
    port: int

    def target(self) -> Target:
        return Target(self.address, self.port)


DEFAULT_TTL = 1
"""Seconds an answer holds; nginx's ``resolver ... valid=`` says the same."""


def service_host(namespace: str, service: str, domain: str) -> str:
    """The Service's DNS name, as the cluster DNS spells it."""
    return f"{service}.{namespace}.svc.{domain}"


ZONE_NAME = "ingress2nginx_upstreams"
"""The shared memory zone every resolved upstream keeps its servers in."""
STREAM_ZONE_NAME = "ingress2nginx_stream_upstreams"
"""The same for the stream block's (ssl-passthrough) upstreams."""
ZONE_BASE_KIB = 1024
ZONE_PER_UPSTREAM_KIB = 16
"""Zone size: a base plus this much per resolved upstream, rounded up to a power of two MiB
(so adding an upstream rarely changes it; bench/dns_responder_bench.py measures the use)."""
STAND_IN_ADDRESS = "127.0.0.1"
CLUSTER_RESOLVER_VALID = "30s"
RESPONDER_TIMEOUT = "2s"
"""dns mode's resolver_timeout: the responder is on loopback and answers at once, so a lookup
not answered by then was lost (nginx then asks again); relayed names get the cluster DNS's
answer well within it."""
"""How long nginx keeps a cluster DNS answer (request-time names outside dns mode)."""


def dns_mode(settings: Settings) -> bool:
    return settings.endpoints == "dns"


def by_number(namespace: str, service: str, port: int, settings: Settings) -> ResolvedServer:
    """A Service port by number, answered by the sidecar's responder (dns mode)."""
    return ResolvedServer(
        service_host(namespace, service, settings.cluster_domain), f"_{port}._tcp"
    )


def by_name(namespace: str, service: str, port_name: str, settings: Settings) -> ResolvedServer:
    """A Service port by name, answered by the cluster DNS (the Service is not in the input)."""
    host = service_host(namespace, service, settings.cluster_domain)
    return ResolvedServer(host, f"_{port_name}._tcp")


def server_token(server: ResolvedServer) -> Token:
    """``HOST service=SRV resolve``: the arguments of the upstream's one ``server`` line."""
    return Token(f"{literal(server.host)} {literal('service=' + server.service)} resolve")


def zone_view(upstreams: Iterable[Upstream]) -> dict[str, Any] | None:
    """The shared ``zone`` resolved upstreams are kept in (sized for all of them), or None."""
    count = sum(1 for upstream in upstreams if upstream.resolve is not None)
    if not count:
        return None
    return {"name": literal(ZONE_NAME), "size": zone_size(count)}


def zone_size(count: int) -> Token:
    """Room for `count` resolved upstreams, rounded up to a power of two MiB."""
    needed = -(-(ZONE_BASE_KIB + ZONE_PER_UPSTREAM_KIB * count) // 1024)
    return literal(f"{1 << (needed - 1).bit_length()}m")


def stream_servers(upstream: Upstream, count: int) -> list[Directive]:
    """The body of a passthrough (stream) upstream nginx resolves: nginx's stream module has
    ``resolve`` too, in a zone of its own (`count` such upstreams share it)."""
    assert upstream.resolve is not None
    return [
        directive("zone", literal(STREAM_ZONE_NAME), zone_size(count)),
        directive("server", server_token(upstream.resolve)),
    ]


def stream_resolver(settings: Settings) -> list[Directive]:
    """``resolver`` and ``resolver_timeout`` for the stream block, as the http block has them
    (the responder in dns mode, else the cluster's resolvers)."""
    view = resolver_view(settings, True, ())
    assert view is not None
    valid = trusted(f"valid={view['valid']}")
    return [
        directive("resolver", *view["addresses"], valid),
        directive("resolver_timeout", view["timeout"]),
    ]


def resolver_view(
    settings: Settings, at_request_time: bool, upstreams: Iterable[Upstream]
) -> dict[str, Any] | None:
    """The http-level ``resolver``: the responder in dns mode, else the cluster's resolvers
    when some name is resolved at request time or some upstream at run time; else None."""
    if dns_mode(settings):
        address = [_address(settings.dns_listen)]
        return {
            "addresses": address,
            "valid": literal(f"{DEFAULT_TTL}s"),
            "timeout": literal(RESPONDER_TIMEOUT),
        }
    if not (at_request_time or any(upstream.resolve is not None for upstream in upstreams)):
        return None
    addresses = [_address(address) for address in settings.resolver]
    return {
        "addresses": addresses,
        "valid": literal(CLUSTER_RESOLVER_VALID),
        "timeout": literal("5s"),
    }


def stand_in(settings: Settings) -> Unavailable:
    """Where the responder points a Service port that has no endpoint."""
    return Unavailable(STAND_IN_ADDRESS, settings.dns_unavailable_port)


def stand_in_view(settings: Settings) -> dict[str, Any] | None:
    """dns mode's loopback server answering 503, else None."""
    if not dns_mode(settings):
        return None
    return {"listen": literal(f"{STAND_IN_ADDRESS}:{settings.dns_unavailable_port}")}


def _address(address: str) -> Token:
    """nginx wants IPv6 resolvers in brackets; ``ip:port`` and ``[ip6]:port`` stay as given."""
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return literal(address)
    return literal(f"[{address}]")
