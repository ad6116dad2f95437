"""Misdirected requests on HTTPS listeners: 421 when the Host belongs to another listener.

A TLS client names what it wants twice: by SNI in the handshake, which chooses the
certificate (and the server nginx shakes hands for), and by the Host header (``:authority``
in HTTP/2) of each request, which chooses the server answering it. The two may differ: an
HTTP/2 client reuses a connection for every name its certificate covers, and any client may
send any Host. The Gateway API asks that a request whose Host belongs to another listener of
the port than the one its SNI name chose gets 421 Misdirected Request, so that the client
asks again on a connection of its own (the conformance suite's
HTTPSListenerDetectMisdirectedRequests). nginx answers 421 by itself only when it verifies
client certificates, so the check is written out:

- a ``map`` per HTTPS port tells which listener an SNI name belongs to, by the Gateway API's
  precedence (a precise hostname, then the longest wildcard, then the listener without
  hostname), which nginx's ``map`` with ``hostnames`` applies exactly as it chooses a
  ``server_name`` (`http_directives`);
- each server listening there (every Gateway API server, and the port's default server)
  knows the listener its names belong to (`Server.sni_slot`) and answers 421 to a request
  whose SNI name belongs to another (`server_directives`): ``if`` at server level, before
  any location, with nothing but ``return`` in it.

A request without SNI (a client connecting to an address) named nothing to compare with and
is served by its Host. A name of no listener of a port without a listener without hostname
belongs to none: only the port's default server takes it. Slots are made here from indexes;
listener hostnames are validated ones, written as map keys by quoting.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import UnsafeValueError, literal, trusted
from ingress2nginx.model import Config, Server
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST
from ingress2nginx.normalize.gateway.isolation import Isolation
from ingress2nginx.normalize.gateway.selection import HTTPS_PORT

NO_LISTENER = "none"
"""The slot of an SNI name no listener of the port holds (with none without hostname)."""

MISDIRECTED = 421

_SLOT = re.compile(r"(l[0-9]+|none)\Z")

_MAP_KEYWORDS = frozenset({"default", "hostnames", "include", "volatile"})
"""Words a ``map`` reads as its own parameters: a key spelling one is escaped with ``\\``."""

SniPorts = tuple[tuple[int, tuple[str, ...]], ...]
"""(port as clients see it, its listeners' hostnames sorted, ANY_HOST for none)."""


def sni_ports(isolation: Isolation, secure_ports: Iterable[int]) -> SniPorts:
    """The listener hostnames of each port with HTTPS listeners, by port."""
    return tuple(
        (port, tuple(sorted(isolation.listeners[port])))
        for port in sorted(set(secure_ports))
        if port in isolation.listeners
    )


def slot(names: tuple[str, ...], hostname: str | None) -> str:
    """The token standing for the listener of hostname `hostname` among `names` (None: a
    name no listener holds)."""
    return NO_LISTENER if hostname is None else f"l{names.index(hostname)}"


def checked(servers: Iterable[Server], ports: SniPorts, isolation: Isolation) -> list[Server]:
    """`servers` (the Gateway API's), those answering HTTPS on a port of `ports` with the
    slot of the listener their host belongs to."""
    named = dict(ports)
    found = []
    for server in servers:
        port = HTTPS_PORT if server.port is None else server.port
        names = named.get(port)
        if names is not None and server.listens_https:
            hostname = isolation.narrowest(port, server.host)
            server = replace(server, sni_slot=slot(names, hostname))
        found.append(server)
    return found


def default_checked(servers: Iterable[Server], ports: SniPorts) -> tuple[Server, ...]:
    """`servers` with the slot given to the default server of --https-port when it is the
    Ingresses' (it takes the names of the listener without hostname, or of none)."""
    names = dict(ports).get(HTTPS_PORT)
    found = []
    for server in servers:
        if names is not None and server.sni_slot is None and _https_default(server):
            server = replace(server, sni_slot=slot(names, ANY_HOST if ANY_HOST in names else None))
        found.append(server)
    return tuple(found)


def _https_default(server: Server) -> bool:
    return server.default and server.port is None and server.listens_https


def sni_variable(port: int) -> str:
    """The variable holding the slot of the request's SNI name on `port`."""
    return f"gw_sni_{port}"


def http_directives(config: Config) -> list[Directive]:
    """``map $ssl_server_name $gw_sni_<port> { hostnames; ... }`` for each HTTPS port."""
    return [_sni_map(port, names) for port, names in config.sni_ports]


def _sni_map(port: int, names: tuple[str, ...]) -> Directive:
    body = [directive("hostnames"), entry(trusted('""'), trusted('""'))]
    for name in names:
        if name != ANY_HOST:
            key = f"\\{name}" if name in _MAP_KEYWORDS else name
            body.append(entry(literal(key), trusted(slot(names, name))))
    fallback = slot(names, ANY_HOST if ANY_HOST in names else None)
    body.append(entry(trusted("default"), trusted(fallback)))
    source = [trusted("$ssl_server_name"), trusted(f"${sni_variable(port)}")]
    return block("map", source, body)


def server_directives(server: Server) -> list[Directive]:
    """``if ($gw_sni_<port> !~ "^(<slot>)?$") { return 421; }`` for a checked server."""
    if server.sni_slot is None:
        return []
    if not _SLOT.match(server.sni_slot):
        raise UnsafeValueError(f"not a listener slot: {server.sni_slot!r}")
    port = HTTPS_PORT if server.port is None else server.port
    test = trusted(f'(${sni_variable(port)} !~ "^({server.sni_slot})?$")')
    return [block("if", [test], [directive("return", MISDIRECTED)])]
