"""Locations as the templates lay them out: every decision made, every value a token.

The model says what a location does (its match, its action, the options its Ingress asked for);
this module turns that into what nginx needs to read: the modifier, the quoted path, the HTTPS
redirect, the directives the annotations add, and how the request reaches the backend
(``proxy_pass`` or ``grpc_pass``, to an upstream or to a name resolved at request time).

nginx inherits ``proxy_set_header`` from the http block only into locations that set none of
their own, so a location that must change one header (upstream-vhost, x-forwarded-prefix)
gets the whole standard set with its changes (`STANDARD_HEADERS`, forwarding.py); so does a
location whose configuration-snippet sets a header (less the ones the snippet sets), or whose
server's server-snippet does, as ingress-nginx writes them in every location. ``add_header`` is
inherited the same way: a location adding a response header of its own (CORS) repeats the
server's (HSTS), from `server_response_headers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingress2nginx.core.directives import Directive, render_lines
from ingress2nginx.core.quoting import Token, comment, compose, expanded, literal, trusted
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import FEATURES, forwarding
from ingress2nginx.features.forwarding import header_directives
from ingress2nginx.features.hsts import HSTS_HEADER
from ingress2nginx.features.proxy import protocol
from ingress2nginx.features.snippets import headers_set_by_snippet
from ingress2nginx.model import (
    Action,
    Choose,
    Config,
    Location,
    Match,
    ProxyToAddress,
    ProxyToUpstream,
    Redirect,
    Respond,
    Server,
    Split,
)
from ingress2nginx.normalize.gateway import filter_directives as gateway_filters
from ingress2nginx.normalize.gateway import misdirected as gateway_misdirected
from ingress2nginx.normalize.gateway import nginx as gateway_nginx

HOP_BY_HOP = frozenset({"Upgrade", "Connection"})
"""Headers HTTP/2 forbids, left out towards gRPC backends."""

HTTP_DEPTH = 1
SERVER_DEPTH = 2
LOCATION_DEPTH = 3
"""Indentation depths of directives in the http block, a server, a location."""

_LOCATION_HOOKS = tuple(h.location for h in FEATURES if h.location is not None and not h.inherited)
_INHERITED_HOOKS = tuple(h.location for h in FEATURES if h.location is not None and h.inherited)
_HEADER_HOOKS = tuple(h.headers for h in FEATURES if h.headers is not None)
_ANSWER_HOOKS = tuple(h.answer for h in FEATURES if h.answer is not None)
_SERVER_HOOKS = tuple(h.server for h in FEATURES if h.server is not None)
_HTTP_HOOKS = tuple(h.http for h in FEATURES if h.http is not None)
"""Each kind of hook of `FEATURES`, in their order: a location asks every feature in turn."""


@dataclass(slots=True)
class LocationView:
    """A location as the template lays it out: tokens only, every choice made. Made once per
    location and only read by the template: not frozen, as a frozen record takes several
    times as long to make (one per location, tens of thousands in a large config)."""

    modifier: Token
    """``=``, ``~`` or ``~*``; empty for a plain prefix."""
    path: Token
    note: Token | None
    """The comment above it: where it comes from, or why it answers as it does."""
    redirect: Token | None
    """``https://...`` target when plain HTTP must be redirected here (not by the server for
    all its locations); None otherwise."""
    extra: Token | None
    """Directives added by annotations, already laid out; None when there are none."""
    pass_target: Token | None
    """``http://upstream`` (or https://, grpc://...) for an upstream; None otherwise."""
    address: Token | None
    """``host:port`` resolved at request time; None otherwise."""
    final: Token
    """The directive that ends the location, without its ``;``: pass to the upstream (or
    the canary's choice), pass to the address resolved at request time, or answer itself (a
    redirect, a status)."""

    @property
    def compact(self) -> bool:
        """One directive in the block: laid out on one line."""
        single = self.pass_target is not None or self.address is None
        return single and self.redirect is None and self.extra is None


@dataclass(frozen=True, slots=True)
class ServerLocations:
    """A server's locations as the template lays them out, with what the server block
    writes once for all of them."""

    views: list[LocationView]
    redirect: Token | None
    """The HTTPS redirect every location has (then none of them writes it), or None."""
    inherited: tuple[Directive, ...]
    """Directives nginx inherits from the server block (`Hooks.inherited`) that every location
    has (then none of them writes them); empty otherwise."""


def location_views(
    server: Server, settings: Settings, server_headers: Sequence[Directive] = ()
) -> ServerLocations:
    """Everything the server template needs to lay out `server`'s locations; `server_headers`
    are the server's ``add_header`` lines, repeated when a location adds headers of its own.

    What every location has (the HTTPS redirect, inherited directives) is written once in the
    server; a comment names the Ingress and field a location implements, the field alone when
    the Ingress is the one above, and is left out when both are."""
    locations = server.locations
    inheritable = [_inheritable(location, settings) for location in locations]
    shared = set(inheritable)
    inherited = shared.pop() if len(shared) == 1 else ()
    redirects = [_https_redirect(location, settings) for location in locations]
    targets = set(redirects)
    hoisted = targets.pop() if len(targets) == 1 else None
    views = [
        _location_view(
            location,
            settings,
            server_headers,
            note,
            None if hoisted is not None else redirect,
            () if inherited else inside,
        )
        for location, note, redirect, inside in zip(
            locations, _notes(locations), redirects, inheritable, strict=True
        )
    ]
    return ServerLocations(views, hoisted, inherited)


def _location_view(
    location: Location,
    settings: Settings,
    server_headers: Sequence[Directive],
    note: Token | None,
    redirect: Token | None,
    inherited_inside: tuple[Directive, ...],
) -> LocationView:
    action = location.action
    scheme, pass_directive = protocol(location.options.proxy.backend_protocol)
    extra = _extra(location, settings, pass_directive, server_headers)
    if inherited_inside:
        lines = render_lines(inherited_inside, LOCATION_DEPTH)
        extra = Token(f"{extra}\n{lines}") if extra else lines
    pass_target = _pass_target(action, scheme)
    address = expanded(action.address) if isinstance(action, ProxyToAddress) else None
    modifier, path = _MODIFIERS[location.match], literal(location.path)
    final = _final(location, settings, pass_directive, scheme, pass_target, address)
    return LocationView(modifier, path, note, redirect, extra, pass_target, address, final)


_MODIFIERS = {match: trusted("" if match is Match.NAMED else match.value) for match in Match}
"""Each match's location modifier, made once: ``=``, ``~``, ``~*``; empty for a prefix."""


def _final(
    location: Location,
    settings: Settings,
    pass_directive: str,
    scheme: str,
    pass_target: Token | None,
    address: Token | None,
) -> Token:
    """The directive that ends the location (`LocationView.final`)."""
    if pass_target is not None:
        return Token(f"{trusted(pass_directive)} {pass_target}")
    if address is not None:
        return trusted(f"{pass_directive} {scheme}://$service_address")
    action = location.action
    if isinstance(action, Respond | Redirect):
        status = action.status
    elif isinstance(action, Choose):
        status = gateway_nginx.CHOICE_STATUS
    else:
        status = None
    return_target = _return_target(location, settings)
    if return_target is not None:
        return Token(f"return {status} {return_target}")
    return Token(f"return {status}")


def _notes(locations: Sequence[Location]) -> list[Token | None]:
    """The comment above each location: the Ingress and field it implements; the field alone
    when the location above comes from the same Ingress; none when from the same field."""
    notes: list[Token | None] = []
    previous = None
    for location in locations:
        origin = location.origin
        if origin is None:
            previous = None
            notes.append(_note(location))
        elif origin == previous:
            notes.append(None)
        else:
            same_ingress = previous is not None and (origin.namespace, origin.name) == (
                previous.namespace,
                previous.name,
            )
            notes.append(comment(origin.field) if same_ingress else _note(location))
            previous = origin
    return notes


def _https_redirect(location: Location, settings: Settings) -> Token | None:
    """The HTTPS redirect target of a location that redirects plain HTTP; None otherwise."""
    if not location.https_redirect:
        return None
    options = location.options
    return https_redirect_target(
        settings, options.redirect.preserve_trailing_slash, options.access.use_port_in_redirects
    )


def _inheritable(location: Location, settings: Settings) -> tuple[Directive, ...]:
    """The directives of `Hooks.inherited` features, for a proxying location."""
    if not location.proxies:
        return ()
    found: list[Directive] = []
    for hook in _INHERITED_HOOKS:
        found += hook(location, settings)
    return tuple(found)


def https_redirect_target(
    settings: Settings, preserve_trailing_slash: bool, use_port: bool | None = None
) -> Token:
    """``https://$host[:port]`` and the request URI, its trailing slash removed unless asked
    to keep it (ingress-nginx removes it; the map is in the main template). As in
    ingress-nginx the port is left out (clients reach nginx through a Service or load balancer
    on 443, whatever port nginx listens on) unless use-port-in-redirects asks for it: then it
    is the published HTTPS port. Behind a trusted proxy the host is the one it forwarded."""
    port = f":{settings.published_https_port}" if use_port else ""
    uri = "$request_uri" if preserve_trailing_slash else "$request_uri_without_trailing_slash"
    host = forwarding.redirect_host_variable(settings.config)
    return trusted(f"https://{host}{port}{uri}")


def feature_server_directives(server: Server, settings: Settings) -> list[Directive]:
    """Directives the features add at server level (their `Hooks.server`), in order."""
    return [item for hook in _SERVER_HOOKS for item in hook(server, settings)]


def server_directives(server: Server, by_features: Sequence[Directive]) -> Token | None:
    """Directives at server level (the features', then a Gateway API rule's), laid out; None
    when there are none."""
    found = [
        *by_features,
        *gateway_misdirected.server_directives(server),
        *gateway_filters.server_directives(server),
    ]
    return render_lines(found, SERVER_DEPTH) if found else None


def server_response_headers(by_features: Sequence[Directive], hsts: bool) -> list[Directive]:
    """The server's ``add_header`` lines (HSTS, and those features add to the server): nginx
    forgets them in a location with an ``add_header`` of its own, which must repeat them."""
    found = [HSTS_HEADER] if hsts else []
    return found + [item for item in by_features if item.name == "add_header"]


def http_directives(config: Config, settings: Settings) -> Token | None:
    """Directives features add once in the http block (zones, maps); None when none."""
    found = [item for hook in _HTTP_HOOKS for item in hook(config, settings)]
    found += gateway_nginx.http_directives(config)
    found += gateway_misdirected.http_directives(config)
    found += gateway_filters.http_directives(config)
    return render_lines(found, HTTP_DEPTH) if found else None


def _pass_target(action: Action, scheme: str) -> Token | None:
    """``scheme://upstream``, or for a canary split the variable naming the chosen one."""
    if isinstance(action, ProxyToUpstream):
        if scheme.startswith("$"):  # AUTO_HTTP: the request's own scheme
            return compose(trusted(f"{scheme}://"), action.upstream)
        return expanded(f"{scheme}://{action.upstream}")
    if isinstance(action, Split):
        return trusted(f"{scheme}://${action.name}")
    return None


def _note(location: Location) -> Token | None:
    if location.origin is not None:
        return comment(str(location.origin))
    if isinstance(location.action, Respond):
        return comment(location.action.reason)
    return None


def _extra(
    location: Location,
    settings: Settings,
    pass_directive: str,
    server_headers: Sequence[Directive],
) -> Token | None:
    if isinstance(location.action, Choose):
        return render_lines(gateway_nginx.choose_directives(location.action), LOCATION_DEPTH)
    if not location.proxies:
        return _answer_extra(location, settings, server_headers)
    found: list[Directive] = []
    for hook in _LOCATION_HOOKS:
        found += hook(location, settings)
    overrides: dict[str, Token] = {}
    for headers in _HEADER_HOOKS:
        overrides.update(headers(location))
    if location.filters is not None:
        found += gateway_filters.location_directives(
            location.filters, grpc=pass_directive == "grpc_pass"
        )
        overrides.update(gateway_filters.header_overrides(location.filters))
    own = headers_set_by_snippet(location)
    if pass_directive == "grpc_pass":
        found += [
            header
            for header in header_directives(overrides, "grpc_set_header", settings)
            if header.args[0] not in HOP_BY_HOP
        ]
    elif overrides or own or location.options.snippets.server_headers:
        found += [
            header
            for header in header_directives(overrides, settings=settings)
            if header.args[0].lower() not in own
        ]
    if not found:  # the common case: nothing to add, so nothing to order
        return None
    if server_headers and any(item.name == "add_header" for item in found):
        found = [*server_headers, *found]
    # `set` first: a `rewrite ... break` ends the rewrite phase, skipping any `set` after it.
    # Two features setting the same variable to the same value (custom-http-errors and the
    # snippet variables) write it once.
    found = sorted(dict.fromkeys(found), key=lambda item: item.name != "set")
    return render_lines(found, LOCATION_DEPTH) if found else None


def _answer_extra(
    location: Location, settings: Settings, server_headers: Sequence[Directive]
) -> Token | None:
    """Directives of a location nginx answers itself (a redirect, a fixed status)."""
    found = [item for hook in _ANSWER_HOOKS for item in hook(location, settings)]
    if server_headers and any(item.name == "add_header" for item in found):
        found = [*server_headers, *found]
    return render_lines(found, LOCATION_DEPTH) if found else None


def _return_target(location: Location, settings: Settings) -> Token | None:
    """The URL of a redirect answer; None for other answers."""
    action = location.action
    if not isinstance(action, Redirect):
        return None
    if action.variable and location.filters is not None:
        return gateway_filters.redirect_target(location.filters)
    return _redirect_url(action, settings)


def _redirect_url(action: Redirect, settings: Settings) -> Token:
    if not action.keep_uri:
        return expanded(action.target)
    return compose(trusted("$scheme://"), action.target, trusted("$request_uri"))
