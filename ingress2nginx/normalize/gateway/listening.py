"""Where each Gateway API host's server listens: one listener port, or 80 and 443 together.

A host is served per listener port (listener isolation, isolation.py): the routes attached
to it through port-80 listeners answer plain HTTP on ``--http-port``, those attached through
port-443 listeners HTTPS on ``--https-port``, and those of a listener's own port that port,
as given (with ``ssl`` for HTTPS, the certificate chosen by SNI). A host whose routes are the
same on 80 and 443 (a route attached to the whole Gateway) gets one server listening on
both; otherwise each port gets its own. A request on a port none of the host's routes is
attached to reaches that port's default server: a 404 (or the Ingresses' default backend on
``--http-port`` and ``--https-port``), never the routes of another listener. Each own port
gets a default server answering 404, unless a route there takes every host.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ingress2nginx.model import Location, Match, Respond, Server, ServerTLS
from ingress2nginx.normalize.gateway.dispatch import Candidate, layout_claims
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST, server_names
from ingress2nginx.normalize.gateway.selection import HTTP_PORT, HTTPS_PORT, Listener
from ingress2nginx.normalize.servers import ServerInputs

NOT_FOUND = Respond(404, "no HTTPRoute rule matches")

HostKey = tuple[str, int]
"""A host and the listener port it is served on, as clients see it (80, 443, or another)."""


@dataclass(slots=True)
class GatewayHost:
    """What the routes attached to one host through the listeners of one port claim."""

    candidates: list[Candidate] = field(default_factory=list)
    """Every match of those routes, in the order routes and rules are visited."""
    tls: ServerTLS | None = None
    """The certificate of an HTTPS listener's host; None for HTTP (or the default one)."""


def own_port(port: int) -> int | None:
    """The port a listener's hosts get servers of their own on: None for 80 and 443, which
    nginx serves on --http-port and --https-port."""
    return None if port in (HTTP_PORT, HTTPS_PORT) else port


def shared_port(listener: Listener) -> int | None:
    """The port of the servers a listener's hosts share (None: --http-port and --https-port,
    where one server per host may answer both)."""
    return own_port(listener.port)


def lay_out(hosts: dict[HostKey, GatewayHost], secure_ports: set[int]) -> list[Server]:
    """The servers of `hosts`, by host then port, and a 404 default server for each own port
    no route takes every host of. `secure_ports` are the own ports of HTTPS listeners."""
    servers = []
    for host, port in sorted(hosts):
        found = hosts[(host, port)]
        twin = _twin(hosts, host, port)
        if twin is not None and twin.candidates == found.candidates:
            if port == HTTP_PORT:
                servers.append(_server(host, port, replace(found, tls=twin.tls), both=True))
            continue
        servers.append(_server(host, port, found, secure=port in secure_ports))
    for port in sorted({port for _, port in hosts if own_port(port) is not None}):
        if (ANY_HOST, port) not in hosts:  # nginx would make the first its default
            location = Location(Match.PREFIX, "/", NOT_FOUND, None)
            secure = port in secure_ports
            servers.append(Server(ANY_HOST, ("_",), True, (location,), port=port,
                                  listens_http=not secure, listens_https=secure))  # fmt: skip
    return servers


def _twin(hosts: dict[HostKey, GatewayHost], host: str, port: int) -> GatewayHost | None:
    """What the host's routes claim on the other one of 80 and 443 (None for other ports)."""
    other = {HTTP_PORT: HTTPS_PORT, HTTPS_PORT: HTTP_PORT}.get(port)
    return None if other is None else hosts.get((host, other))


def _server(
    host: str, port: int, found: GatewayHost, *, both: bool = False, secure: bool = False
) -> Server:
    """One host's server on `port` (on 80 and 443 with `both`)."""
    label = host if port == HTTP_PORT else f"{host}:{port}"
    claims, needed = layout_claims(label, found.candidates)
    named = {location.path: location for location in reversed(needed)}
    server = ServerInputs(host, server_names(host), host == ANY_HOST, tuple(claims),
                          (NOT_FOUND, None), found.tls, None, (), False,
                          named=tuple(named[name] for name in sorted(named)),
                          port=own_port(port)).build()  # fmt: skip
    if both:
        return server
    https = port == HTTPS_PORT or secure
    return replace(server, listens_http=not https, listens_https=https)


def merged(gateway: tuple[Server, ...], ingress: tuple[Server, ...]) -> tuple[Server, ...]:
    """The Ingresses' servers with the Gateway's, by host then port. A Gateway server on
    --http-port or --https-port replaces an Ingress server of its host (only ever an empty
    one: the catch-all) on the ports it listens on; the Ingress server keeps the other one
    (unless nginx does not listen there: rendering leaves out a server with no port)."""
    covered: dict[str, tuple[bool, bool]] = {}
    for server in gateway:
        if server.port is None:
            plain, secure = covered.get(server.host, (False, False))
            covered[server.host] = (plain or server.listens_http, secure or server.listens_https)
    kept = []
    for server in ingress:
        plain, secure = covered.get(server.host, (False, False))
        if plain and secure:
            continue
        if plain or secure:
            server = replace(server, listens_http=not plain, listens_https=not secure)
        kept.append(server)
    return tuple(sorted([*kept, *gateway], key=lambda s: (s.host, s.port or 0)))
