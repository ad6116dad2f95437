"""mirror-target, mirror-request-body, mirror-host: a copy of each request to a second backend.

nginx's ``mirror`` directive sends a background subrequest to an internal location for every
request of the Ingress's paths; the answer of that subrequest is thrown away, so the client
only ever sees the main backend's answer (a slow mirror still delays the next request on the
connection, as the ingress-nginx documentation warns). Each distinct mirror (target, Host
header, body on or off) gets one internal location per server, named by a hash of those
settings: ``location = /%mirror-<hash>``. A decoded request path can never contain a ``%``
(validating.py refuses ``%25`` and lone ``%`` in Ingress paths), so the name can never be
the same as an Ingress path; ``internal`` keeps clients out of it.

The target's host is resolved at request time (the target is written with a variable, so
nginx asks the ``resolver`` instead of failing at start when the name does not resolve yet).

Targets are the forms ingress-nginx documents: ``http(s)://host[:port][/path]``, optionally
ending in ``$request_uri`` (the original request's path and query). ``$request_uri`` is the
only ``$`` accepted, and only at the very end.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.grammar import is_dns1123_subdomain
from ingress2nginx.core.quoting import Token, compose, expanded, literal, trusted
from ingress2nginx.features.base import Annotation, AnnotationValueError, Hooks, partly, supported
from ingress2nginx.features.forwarding import header_directives
from ingress2nginx.features.values import choice, host_and_port

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location, Server

REQUEST_URI = "$request_uri"
LOCATION_PREFIX = "/%mirror-"

_PCHAR = r"[A-Za-z0-9\-._~!&'()*+,=:@%]"
_TARGET = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
    rf"(?P<path>/(?:{_PCHAR}|/)*)?(?P<request_uri>\$request_uri)?\Z"
)


@dataclass(frozen=True, slots=True)
class MirrorTarget:
    """A checked mirror-target URL, taken apart."""

    scheme: str
    """``http`` or ``https``."""
    host: str
    """A lowercase DNS name, an IPv4 address, or an IPv6 address in brackets."""
    port: int | None
    path: str
    """The path written after the host (may be empty)."""
    request_uri: bool
    """The target ends in ``$request_uri``: the original path and query are appended."""

    @property
    def authority(self) -> str:
        """``host[:port]``."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def needs_resolver(self) -> bool:
        """Whether nginx must resolve the host by DNS (it is not an IP address)."""
        return not self.host.startswith("[") and not _is_ipv4(self.host)

    def __str__(self) -> str:
        suffix = REQUEST_URI if self.request_uri else ""
        return f"{self.scheme}://{self.authority}{self.path}{suffix}"


def mirror_target(value: str) -> MirrorTarget:
    """``http(s)://host[:port][/path]``, optionally followed by ``$request_uri``."""
    found = _TARGET.match(value.strip())
    if found is None or "//" in (found["path"] or ""):
        raise AnnotationValueError(
            "must be an http(s) URL without query, optionally ending in $request_uri,"
            " like https://test.example$request_uri"
        )
    host = found["host"].lower()
    if not (_is_ipv4(host) or _is_bracketed_ipv6(host) or is_dns1123_subdomain(host)):
        raise AnnotationValueError(f"{host!r} is not a host name or IP address")
    port = int(found["port"]) if found["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise AnnotationValueError("the port must be from 1 to 65535")
    return MirrorTarget(
        found["scheme"], host, port, found["path"] or "", found["request_uri"] is not None
    )


def _is_ipv4(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        return False


def _is_bracketed_ipv6(host: str) -> bool:
    if not (host.startswith("[") and host.endswith("]")):
        return False
    try:
        return isinstance(ipaddress.ip_address(host[1:-1]), ipaddress.IPv6Address)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class MirrorOptions:
    """The mirror one Ingress asks for."""

    target: MirrorTarget | None = None
    """``mirror-target``; None: no mirror."""
    request_body: str = "on"
    """``mirror-request-body``: ``on`` sends the body to the mirror too, ``off`` does not."""
    host: str | None = None
    """``mirror-host``: the mirror's Host header; None: the target's host name."""

    @property
    def host_header(self) -> str:
        """The Host header of mirrored requests (the target's host without port by default)."""
        if self.host is not None:
            return self.host
        return self.target.host.strip("[]") if self.target is not None else ""

    @property
    def location(self) -> str:
        """The internal location's path: one per distinct (target, Host, body) setting."""
        key = f"{self.target}\n{self.host_header}\n{self.request_body}".encode()
        return LOCATION_PREFIX + hashlib.sha256(key).hexdigest()[:16]


ANNOTATIONS: tuple[Annotation, ...] = (
    partly(
        "mirror-target",
        "Send a copy of every request of the Ingress's paths to this URL (the answer is"
        " ignored); $request_uri at the end appends the original path and query.",
        "only http(s)://host[:port][/path] with an optional $request_uri at the end; without"
        " $request_uri the mirror gets the target's path (/ when it has none) and the query,"
        " where ingress-nginx sends its internal location's name",
        "mirror.target",
        mirror_target,
    ),
    supported(
        "mirror-request-body",
        "Whether the mirror gets the request body too: on (default) or off; with off the"
        " mirror gets no Content-Length either.",
        "mirror.request_body",
        choice("on", "off"),
    ),
    supported(
        "mirror-host",
        "The Host header of mirrored requests (default: the target's host name).",
        "mirror.host",
        host_and_port,
    ),
)


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``mirror`` in every location of a mirroring Ingress."""
    options = location.options.mirror
    if options.target is None:
        return []
    return [
        directive("mirror", literal(options.location)),
        directive("mirror_request_body", trusted(options.request_body)),
    ]


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """One internal location per distinct mirror that the server's locations use."""
    mirrors = {
        options.location: options
        for location in server.locations
        if (options := location.options.mirror).target is not None
    }
    return [_internal_location(mirrors[name], settings) for name in sorted(mirrors)]


def _internal_location(options: MirrorOptions, settings: Settings) -> Directive:
    # imported here: views imports the annotations package

    assert options.target is not None
    body = [directive("internal")]
    body += header_directives({"Host": expanded(options.host_header)}, settings=settings)
    if options.request_body == "off":
        body += [
            directive("proxy_pass_request_body", trusted("off")),
            directive("proxy_set_header", trusted("Content-Length"), trusted('""')),
        ]
    body.append(directive("proxy_pass", pass_target(options.target)))
    return block("location", (trusted("="), literal(options.location)), body)


def pass_target(target: MirrorTarget) -> Token:
    """The ``proxy_pass`` URL; it always holds a variable, so the host is resolved when a
    request is mirrored rather than when nginx starts."""
    base = f"{target.scheme}://{target.authority}"
    if target.request_uri:
        return compose(base + target.path, trusted(REQUEST_URI))
    return compose(base + (target.path or "/"), trusted("$is_args$args"))


def needs_resolver(location: Location) -> bool:
    """Whether this location mirrors to a host nginx must resolve by DNS."""
    target = location.options.mirror.target
    return target is not None and target.needs_resolver


HOOKS = Hooks(location=location_directives, server=server_directives)
