"""`RouteFilters` laid out as nginx directives (what views.py adds to a location).

Request headers: ``proxy_set_header`` (the standard set is then repeated in the location, as
for every header change); ``add`` appends to the client's value through a ``map`` at http
level (``value`` alone when the client sent none); ``remove`` sends an empty value, which
nginx leaves out. Response headers: ``add_header ... always``, ``proxy_hide_header`` first
for ``set`` and ``remove``. URLRewrite: the Host header, and the path by ``rewrite ... break``
(the query is kept); ReplacePrefixMatch replaces the matched prefix element-wise (``/foo``
to ``/xyz``: ``/foo/bar`` becomes ``/xyz/bar``, ``/foo`` becomes ``/xyz``). RequestRedirect:
``return`` with a URL of the scheme, host, port and path asked (each kept when not given: the
request's scheme and Host, no port, the original path and query); a port is written only
when it is not the scheme's own, and without a scheme of its own the port follows the
request's scheme through a ``map``. RequestMirror: ``mirror`` to an internal location of the
server proxying the copy to the mirror's backend (its answer is thrown away); nginx's
``mirror`` cannot be conditional, so for a share of the requests (``percent``, ``fraction``)
the internal location answers the others ``204`` itself, by a ``split_clients`` on the
request id (the main request is untouched either way). Timeouts: ``proxy_read_timeout`` and
``proxy_send_timeout``. Towards gRPC backends the same directives are ``grpc_*``.

User values reach nginx only through quoting.py (`compose` refuses ``$`` in them); every
variable name is built from the filters' digest name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import Token, compose, expanded, literal, trusted, with_captures
from ingress2nginx.features.forwarding import STANDARD_HEADERS
from ingress2nginx.model import (
    Config,
    Location,
    Mirror,
    PathChange,
    ProxyToAddress,
    ProxyToUpstream,
    RouteFilters,
    Server,
)
from ingress2nginx.normalize.gateway.filters import MIRROR_ALL

DEFAULT_PORTS = {"http": 80, "https": 443}


def header_overrides(filters: RouteFilters) -> dict[str, Token]:
    """Request headers to set (name -> value), the standard ones matched in any case."""
    standard = {name.lower(): name for name, _ in STANDARD_HEADERS}
    found: dict[str, Token] = {}
    if filters.host is not None:
        found["Host"] = expanded(filters.host)
    for index, change in enumerate(filters.request_headers):
        name = standard.get(change.name.lower(), change.name)
        if change.how == "set":
            found[name] = expanded(change.value)
        elif change.how == "add":
            found[name] = trusted(f"${filters.name}_add_{index}")
        else:
            found[name] = trusted('""')
    return found


def location_directives(filters: RouteFilters, grpc: bool = False) -> list[Directive]:
    """Response headers, path rewrite and timeouts of a proxying location (`grpc`: one
    passing to a gRPC backend, whose directives are ``grpc_*``)."""
    found: list[Directive] = []
    prefix = "grpc" if grpc else "proxy"
    for change in filters.response_headers:
        header = literal(change.name)
        if change.how in ("set", "remove"):
            found.append(directive(f"{prefix}_hide_header", header))
        if change.how in ("set", "add"):
            found.append(directive("add_header", header, expanded(change.value), trusted("always")))
    if filters.path is not None:
        found += _rewrites(filters.path)
    for mirror in filters.mirrors:
        found.append(directive("mirror", literal(mirror.location)))
    if filters.timeout is not None:
        for name in ("read_timeout", "send_timeout"):
            found.append(directive(f"{prefix}_{name}", trusted(filters.timeout)))
    return found


def server_directives(server: Server) -> list[Directive]:
    """The internal location of each mirror the server's locations use, once each."""
    mirrors = {
        mirror.location: mirror
        for location in server.locations
        if location.filters is not None
        for mirror in location.filters.mirrors
    }
    return [_mirror_location(mirrors[name]) for name in sorted(mirrors)]


def _mirror_location(mirror: Mirror) -> Directive:
    """``location = /%gwmirror-<digest> { internal; proxy_pass ...$request_uri; }``; for a
    share of the requests, the others answered ``204`` there (thrown away, never sent); for
    gRPC, ``grpc_pass``, the URI set back to the request's (it sends the location's)."""
    target = mirror.target
    body = [directive("internal")]
    if mirror.share < MIRROR_ALL:
        test = trusted(f'(${_share_variable(mirror)} = "")')
        body.append(block("if", [test], [directive("return", trusted("204"))]))
    grpc = mirror.scheme != "http"
    uri = "" if grpc else "$request_uri"
    if grpc:
        body.append(directive("rewrite", trusted("^"), trusted("$request_uri"), trusted("break")))
    pass_directive = "grpc_pass" if grpc else "proxy_pass"
    scheme = f"{mirror.scheme}://"
    if isinstance(target, ProxyToUpstream):
        body.append(directive(pass_directive, compose(trusted(scheme), target.upstream,
                                                      trusted(uri))))  # fmt: skip
    else:
        body.append(directive("set", trusted("$gw_mirror_address"), expanded(target.address)))
        body.append(directive(pass_directive, trusted(f"{scheme}$gw_mirror_address{uri}")))
    return block("location", [trusted("="), literal(mirror.location)], body)


def _share_variable(mirror: Mirror) -> str:
    """``gw_mirror_<digest>``: non-empty for the requests a mirror copies (a share of them);
    the digest is the one this program gave the mirror's location."""
    return "gw_mirror_" + mirror.location.rpartition("-")[2]


def _mirror_shares(config: Config) -> list[Directive]:
    """A ``split_clients`` for each mirror copying a share of the requests, salted with the
    mirror's digest so that it is independent of the backendRef weights' split."""
    mirrors = {
        mirror.location: mirror
        for server in config.servers
        for location in server.locations
        if location.filters is not None
        for mirror in location.filters.mirrors
        if mirror.share < MIRROR_ALL
    }
    found = []
    for name in sorted(mirrors):
        mirror = mirrors[name]
        digest = name.rpartition("-")[2]
        body = [entry(trusted(f"{mirror.share / 100:g}%"), trusted("1")),
                entry(trusted("*"), trusted('""'))]  # fmt: skip
        source = [trusted(f'"${{request_id}}{digest}"'), trusted(f"${_share_variable(mirror)}")]
        found.append(block("split_clients", source, body))
    return found


def needs_resolver(location: Location) -> bool:
    """Whether a mirror of the location is reached by a name nginx resolves."""
    filters = location.filters
    return filters is not None and any(
        isinstance(mirror.target, ProxyToAddress) for mirror in filters.mirrors
    )


def _rewrites(path: PathChange) -> list[Directive]:
    if path.full:
        return [directive("rewrite", trusted("^"), with_captures(path.value), trusted("break"))]
    return [
        directive("rewrite", literal(pattern), with_captures(replacement), trusted("break"))
        for pattern, replacement in _prefix_replacements(path)
    ]


def _prefix_replacements(path: PathChange) -> list[tuple[str, str]]:
    """(regex on the URI, replacement) pairs replacing the matched prefix element-wise."""
    kept = path.value.rstrip("/")
    if path.prefix == "/":
        return [("^(/.*)$", kept + "$1")]
    escaped = re.escape(path.prefix)
    return [(f"^{escaped}$", kept or "/"), (f"^{escaped}(/.*)$", kept + "$1")]


def redirect_target(filters: RouteFilters) -> Token:
    """The URL of a RequestRedirect's ``return``."""
    redirect = filters.redirect
    assert redirect is not None, "only locations with a RequestRedirect redirect by variable"
    scheme = trusted("$scheme") if redirect.scheme is None else trusted(redirect.scheme)
    host = trusted("$host") if redirect.hostname is None else redirect.hostname
    port = _port(filters)
    if redirect.path is None:
        path: list[Token | str] = [trusted("$request_uri")]
    elif redirect.path.full:
        path = [redirect.path.value, trusted("$is_args$args")]
    else:
        path = [trusted(f"${filters.name}_path$is_args$args")]
    return compose(scheme, trusted("://"), host, port, *path)


def _port(filters: RouteFilters) -> Token:
    redirect = filters.redirect
    assert redirect is not None
    if redirect.port is None:
        return trusted("")
    if redirect.scheme is None:
        return trusted(f"${filters.name}_port")
    if DEFAULT_PORTS[redirect.scheme] == redirect.port:
        return trusted("")
    return trusted(f":{redirect.port}")


def http_directives(config: Config) -> list[Directive]:
    """The maps the config's filters need, once per filters name, and the mirrors' shares."""
    found: list[Directive] = _mirror_shares(config)
    for filters in _all_filters(config):
        for index, change in enumerate(filters.request_headers):
            if change.how == "add":
                found.append(_appended(filters, index, change.name, change.value))
        redirect = filters.redirect
        if redirect is not None and redirect.port is not None and redirect.scheme is None:
            body = [
                entry(
                    trusted(scheme),
                    trusted('""' if port == redirect.port else f'":{redirect.port}"'),
                )
                for scheme, port in DEFAULT_PORTS.items()
            ]
            found.append(block("map", [trusted("$scheme"), trusted(f"${filters.name}_port")],
                               body))  # fmt: skip
        if redirect is not None and redirect.path is not None and not redirect.path.full:
            body = [entry(literal(f"~{pattern}"), with_captures(replacement))
                    for pattern, replacement in _prefix_replacements(redirect.path)]  # fmt: skip
            body.append(entry(trusted("default"), trusted("$uri")))
            found.append(block("map", [trusted("$uri"), trusted(f"${filters.name}_path")], body))
    return found


def _appended(filters: RouteFilters, index: int, name: str, value: str) -> Directive:
    """``map $http_<name> $<filters>_add_<n> { "" value; default "$http_<name>,value"; }``."""
    source = trusted("$http_" + name.lower().replace("-", "_"))
    body = [entry(trusted('""'), expanded(value)),
            entry(trusted("default"), compose(source, trusted(","), value))]  # fmt: skip
    return block("map", [source, trusted(f"${filters.name}_add_{index}")], body)


def _all_filters(config: Config) -> Iterator[RouteFilters]:
    seen: set[str] = set()
    for server in config.servers:
        for location in server.locations:
            filters = location.filters
            if filters is not None and filters.name not in seen:
                seen.add(filters.name)
                yield filters
