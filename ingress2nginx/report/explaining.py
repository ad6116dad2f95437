"""Which location answers a request, and why: nginx's own choice, replayed on the model.

``ingress2nginx explain --request URL`` and ``check``'s shadowed-path detection use this. It
follows nginx's documented algorithm: the server by ``server_name`` (exact names, then the
longest wildcard name, then regex names in file order, then the default server), the request
path normalized as nginx does (percent-decoded, ``//`` merged, dot segments resolved), then
the location: an exact ``=`` match ends the search; otherwise the longest prefix is
remembered, regex locations are tried in order and the first match wins; failing that, the
longest prefix. A Gateway API redirect's Location is worked out from the request. A test
replays many requests through real nginx and checks that this module always agrees with it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from ingress2nginx.model import (
    Action,
    Choose,
    Condition,
    Config,
    Location,
    Match,
    Origin,
    PathType,
    ProxyToAddress,
    ProxyToUpstream,
    Redirect,
    Respond,
    Route,
    Server,
    Split,
)


@dataclass(frozen=True, slots=True)
class Answer:
    """What nginx does with one request."""

    server: Server
    location: Location
    uri: str
    """The normalized path the location was chosen for."""
    steps: tuple[str, ...]
    """Why, one sentence per decision."""
    outcome: str
    """What the client gets: a backend, a redirect, a status."""
    answering: Location | None = None
    """The named location a Gateway API choice by match hands the request to (None: the
    `location` itself answers)."""

    @property
    def origin(self) -> Origin | None:
        """The rule that answers."""
        return (self.answering or self.location).origin


def explain_request(config: Config, url: str) -> Answer:
    """Replay nginx's choice for `url` (``http(s)://host[:port]/path?query``)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").rstrip(".").lower()
    https = parts.scheme == "https"
    server, server_step = choose_server(config, host, _listener_port(config, parts.port), https)
    uri = normalize_uri(parts.path or "/")
    location, location_step = choose_location(server, uri)
    steps = [server_step, location_step]
    answering = location
    chosen = follow_choice(server, location, parts.query)
    if chosen is not None:
        answering, choice_step = chosen
        steps.append(choice_step)
    outcome = describe(answering.action)
    target = gateway_redirect(answering, parts, host, uri)
    if target is not None:
        outcome += target
    if not https and location.https_redirect:
        steps.append("plain HTTP on a host that redirects to HTTPS (ssl-redirect)")
        outcome = f"308 redirect to https://{host}{parts.path or '/'}"
    elif server.app_root and uri == "/":
        steps.append("the root of a host with app-root")
        outcome = f"302 redirect to {server.app_root}"
    named = answering if answering is not location else None
    return Answer(server, location, uri, tuple(steps), outcome, named)


DEFAULT_PORTS = {"http": 80, "https": 443}


def follow_choice(server: Server, location: Location, query: str) -> tuple[Location, str] | None:
    """The named location a Gateway API choice by match hands a GET request with this query
    and no headers to: the first whose conditions hold (None when `location` chooses none)."""
    action = location.action
    if not isinstance(action, Choose) or not action.by_match:
        return None
    values = {"args": query, "request_method": "GET"}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        values.setdefault("arg_" + name.lower(), value)
    named = {candidate.path: candidate for candidate in server.locations}
    for choice in action.choices:
        if all(_holds(condition, values) for condition in choice.conditions):
            reason = "its conditions hold" if choice.conditions else "no other choice's hold"
            return named[choice.location], (
                f"a GET with this query and no headers goes to {choice.location}: {reason}"
            )
    return None


def _holds(condition: Condition, values: dict[str, str]) -> bool:
    flags = 0 if condition.case_sensitive else re.IGNORECASE
    return re.search(condition.pattern, values.get(condition.source, ""), flags) is not None


def gateway_redirect(location: Location, parts: SplitResult, host: str, uri: str) -> str | None:
    """The Location a Gateway API RequestRedirect answers this request with (None for any
    other location): what the filter does not change is the request's own (the request's
    port never: clients see 80 and 443)."""
    redirect = location.filters.redirect if location.filters is not None else None
    if redirect is None or not isinstance(location.action, Redirect):
        return None
    scheme = redirect.scheme or parts.scheme
    port = redirect.port
    shown_port = "" if port is None or port == DEFAULT_PORTS.get(scheme) else f":{port}"
    args = f"?{parts.query}" if parts.query else ""
    if redirect.path is None:
        path = parts.path or "/"
    elif redirect.path.full:
        path = redirect.path.value
    else:
        path = _replaced_prefix(redirect.path.prefix, redirect.path.value, uri)
    return f"{scheme}://{redirect.hostname or host}{shown_port}{path}{args}"


def _replaced_prefix(prefix: str, value: str, uri: str) -> str:
    """ReplacePrefixMatch: the matched prefix of `uri`, element-wise, replaced by `value`."""
    kept = value.rstrip("/")
    if prefix == "/":
        return kept + uri
    if uri == prefix:
        return kept or "/"
    return kept + uri[len(prefix) :] if uri.startswith(prefix + "/") else uri


def _listener_port(config: Config, port: int | None) -> int | None:
    """The port of the servers a request to `port` reaches: a Gateway API listener's own
    port when some server listens there, else None (--http-port and --https-port)."""
    return port if port is not None and any(s.port == port for s in config.servers) else None


def choose_server(
    config: Config, host: str, port: int | None = None, https: bool = False
) -> tuple[Server, str]:
    """nginx's server selection by Host, among the servers of `port` (None: --http-port, or
    --https-port with `https`): exact names, then the longest ``*.`` wildcard (Gateway API
    hostnames), then regexes in order, then the default server."""
    servers = [server for server in config.servers if _answers(server, port, https)]
    for server in servers:
        if host in server.server_names:
            return server, f"server_name {host} matches exactly"
    wildcards = [
        (len(name), name, server)
        for server in servers
        for name in server.server_names
        if name.startswith("*.") and host.endswith(name[1:]) and len(host) > len(name) - 1
    ]
    if wildcards:
        _, name, server = max(wildcards, key=lambda found: found[0])
        return server, f"server_name {name} is the longest wildcard matching {host}"
    for server in servers:
        for name in server.server_names:
            if name.startswith("~") and re.search(name[1:], host):
                return server, f"server_name {name} matches {host or '(no host)'}"
    default = next(server for server in servers if server.default)
    return default, f"no server_name matches {host or '(no host)'}: the default server answers"


def _answers(server: Server, port: int | None, https: bool) -> bool:
    """Whether `server` answers requests on `port` (None: --http-port, or --https-port with
    `https`)."""
    if server.port != port:
        return False
    return port is not None or (server.listens_https if https else server.listens_http)


def normalize_uri(path: str) -> str:
    """The path nginx matches locations against: decoded, slashes merged, dots resolved."""
    decoded = unquote_to_bytes(path).decode("utf-8", "replace")
    merged = re.sub(r"/{2,}", "/", decoded)
    resolved = posixpath.normpath(merged) if merged != "/" else "/"
    if resolved.startswith("//"):
        resolved = resolved[1:]
    if merged.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    return resolved


def choose_location(server: Server, uri: str) -> tuple[Location, str]:
    """nginx's location selection for a normalized URI."""
    for location in server.locations:
        if location.match is Match.EXACT and location.path == uri:
            return location, f"location = {location.path} matches exactly"
    prefixes = [
        location
        for location in server.locations
        if location.match is Match.PREFIX and uri.startswith(location.path)
    ]
    longest = max(prefixes, key=lambda location: len(location.path))
    for location in server.locations:
        if location.is_regex:
            flags = re.IGNORECASE if location.match is Match.REGEX else 0
            if re.search(location.path, uri, flags):
                return location, f"regex location {location.match} {location.path} matches first"
    return longest, f"location {longest.path} is the longest matching prefix"


def describe(action: Action) -> str:
    """What an action does, in a few words."""
    if isinstance(action, ProxyToUpstream | ProxyToAddress):
        return f"proxied to {action.service}"
    if isinstance(action, Split):
        return f"proxied to {action.main.service}, or the canary {action.canary.service}"
    if isinstance(action, Redirect):
        return f"{action.status} redirect to {action.target}"
    if isinstance(action, Respond):
        return f"{action.status} from nginx ({action.reason})"
    if isinstance(action, Choose):
        return f"one of, per request: {action.service}"
    raise TypeError(action)


PROBE_SEGMENTS = ("x", "X", "0", "-", "~", "_", "é", "a.b", "zz-9_Z", "x/y")
"""Path elements appended to a Prefix path to sample the requests under it: letters of both
cases, a digit, punctuation, non-ASCII, a dotted name, two elements. A regex location that
matches a few of them may well miss others, so a Prefix path counts as shadowed only when
another location answers every sample."""


@dataclass(frozen=True, slots=True)
class Shadowed:
    """An Ingress path that never answers a request it matches."""

    server: Server
    route: Route
    winners: tuple[Location, ...]
    """The locations that answer its requests instead, one per source, in the order first
    seen."""


def shadowed(config: Config) -> list[Shadowed]:
    """Ingress paths no request answers: for each Exact or Prefix path (also when a regex host
    turned it into a regex), the requests it matches (`probes`) are replayed with
    `choose_location`, the decision `explain --request` shows; a path none of them reaches is
    shadowed. A use-regex path matches requests no sample can enumerate: never reported."""
    servers: dict[tuple[str, int | None], list[Server]] = {}
    for each in config.servers:
        servers.setdefault((each.host, each.port), []).append(each)
    found = []
    for route in config.routes:
        server = _route_server(servers.get((route.host, route.port), []), route)
        if server is None or _is_regex_route(server, route):
            continue
        winners: dict[Origin | None, Location] = {}  # one per Ingress path answering instead
        for probe in probes(route):
            winner, _ = choose_location(server, normalize_uri(probe))
            if winner.origin == route.origin or route.origin in _chosen_among(server, winner):
                break
            winners.setdefault(winner.origin, winner)
        else:
            found.append(Shadowed(server, route, tuple(winners.values())))
    return found


def _route_server(servers: list[Server], route: Route) -> Server | None:
    """The server of the route's host and port that serves it: the only one, or (a Gateway
    API host served apart on --http-port and --https-port) one holding its origin."""
    if len(servers) < 2:
        return servers[0] if servers else None
    holding = (s for s in servers if any(loc.origin == route.origin for loc in s.locations))
    return next(holding, servers[0])


def _chosen_among(server: Server, location: Location) -> set[Origin | None]:
    """The origins a location hands requests to by match (a Gateway API `Choose`), each of
    which answers some of its requests."""
    action = location.action
    if not isinstance(action, Choose) or not action.by_match:
        return set()
    names = {choice.location for choice in action.choices}
    return {named.origin for named in server.locations if named.path in names}


def probes(route: Route) -> list[str]:
    """Request paths the route matches: its own path and, for Prefix (and
    ImplementationSpecific, matched as Prefix), the path with a slash and with `PROBE_SEGMENTS`
    under it."""
    path = route.path or "/"
    if route.path_type is PathType.EXACT:
        return [path]
    base = path.rstrip("/")
    return [path, base + "/", *(f"{base}/{segment}" for segment in PROBE_SEGMENTS)]


def _is_regex_route(server: Server, route: Route) -> bool:
    return any(
        location.origin == route.origin and location.match is Match.REGEX
        for location in server.locations
    )
