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

import dataclasses
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


@dataclass(frozen=True, slots=True)
class LocationView:
    """A location as the template lays it out: tokens only."""

    modifier: Token
    """``=``, ``~`` or ``~*``; empty for a plain prefix."""
    path: Token
    note: Token | None
    """The comment above it: where it comes from, or why it answers as it does."""
    redirect: Token | None
    """``https://...`` target when plain HTTP must be redirected; None otherwise."""
    extra: Token | None
    """Directives added by annotations, already laid out; None when there are none."""
    pass_directive: Token
    """``proxy_pass`` or ``grpc_pass``."""
    pass_target: Token | None
    """``http://upstream`` (or https://, grpc://...) for an upstream; None otherwise."""
    address: Token | None
    """``host:port`` resolved at request time; None otherwise."""
    address_target: Token
    """The pass target using that address (``http://$service_address``)."""
    status: int | None
    """The status nginx answers itself with (404, 503, a redirect code)."""
    return_target: Token | None
    """The URL of a redirect answer; None otherwise."""

    inheritable: tuple[Directive, ...] = ()
    """Directives nginx would inherit from the server block (`Hooks.inherited`), not yet in
    `extra`: the renderer writes them once in the server when every location has the same."""

    @property
    def final(self) -> Token:
        """The directive that ends the location, without its ``;``, chosen here once by what
        the location does: pass to the upstream (or the canary's choice), pass to the address
        resolved at request time, or answer itself (a redirect, a status)."""
        if self.pass_target is not None:
            return Token(f"{self.pass_directive} {self.pass_target}")
        if self.address is not None:
            return Token(f"{self.pass_directive} {self.address_target}")
        if self.return_target is not None:
            return Token(f"return {self.status} {self.return_target}")
        return Token(f"return {self.status}")

    @property
    def compact(self) -> bool:
        """One directive in the block: laid out on one line."""
        single = self.pass_target is not None or self.address is None
        plain = self.redirect is None and self.extra is None and not self.inheritable
        return single and plain

    def with_inheritable_inside(self) -> LocationView:
        """The view with its inheritable directives written in the location itself."""
        if not self.inheritable:
            return self
        lines = render_lines(self.inheritable, LOCATION_DEPTH)
        extra = Token(f"{self.extra}\n{lines}") if self.extra else lines
        return dataclasses.replace(self, extra=extra, inheritable=())


def location_view(
    location: Location, settings: Settings, server_headers: Sequence[Directive] = ()
) -> LocationView:
    """Everything the server template needs to lay out `location`; `server_headers` are the
    server's ``add_header`` lines, repeated when the location adds headers of its own."""
    action = location.action
    options = location.options
    scheme, pass_directive = protocol(options.proxy.backend_protocol)
    return LocationView(
        modifier=trusted("" if location.match is Match.NAMED else location.match.value),
        path=literal(location.path),
        note=_note(location),
        redirect=https_redirect_target(
            settings, options.redirect.preserve_trailing_slash, options.access.use_port_in_redirects
        )
        if location.https_redirect
        else None,
        extra=_extra(location, settings, pass_directive, server_headers),
        pass_directive=trusted(pass_directive),
        pass_target=_pass_target(action, scheme),
        address=expanded(action.address) if isinstance(action, ProxyToAddress) else None,
        address_target=trusted(f"{scheme}://$service_address"),
        status=action.status
        if isinstance(action, Respond | Redirect)
        else gateway_nginx.CHOICE_STATUS
        if isinstance(action, Choose)
        else None,
        return_target=_return_target(location, settings),
        inheritable=_inheritable(location, settings),
    )


def _inheritable(location: Location, settings: Settings) -> tuple[Directive, ...]:
    """The directives of `Hooks.inherited` features, for a proxying location."""
    if not location.proxies:
        return ()
    return tuple(
        item
        for hooks in FEATURES
        if hooks.inherited and hooks.location is not None
        for item in hooks.location(location, settings)
    )


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


def server_directives(server: Server, settings: Settings) -> Token | None:
    """Directives features add at server level, laid out; None when there are none."""
    found = [
        item
        for hooks in FEATURES
        if hooks.server is not None
        for item in hooks.server(server, settings)
    ]
    found += gateway_misdirected.server_directives(server)
    found += gateway_filters.server_directives(server)
    return render_lines(found, SERVER_DEPTH) if found else None


def server_response_headers(server: Server, settings: Settings, hsts: bool) -> list[Directive]:
    """The server's ``add_header`` lines (HSTS, and those features add to the server): nginx
    forgets them in a location with an ``add_header`` of its own, which must repeat them."""
    found = [HSTS_HEADER] if hsts else []
    for hooks in FEATURES:
        if hooks.server is not None:
            found += [item for item in hooks.server(server, settings) if item.name == "add_header"]
    return found


def http_directives(config: Config, settings: Settings) -> Token | None:
    """Directives features add once in the http block (zones, maps); None when none."""
    found = [
        item
        for hooks in FEATURES
        if hooks.http is not None
        for item in hooks.http(config, settings)
    ]
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
    overrides: dict[str, Token] = {}
    for hooks in FEATURES:
        if hooks.location is not None and not hooks.inherited:
            found += hooks.location(location, settings)
        if hooks.headers is not None:
            overrides.update(hooks.headers(location))
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
    found = [
        item
        for hooks in FEATURES
        if hooks.answer is not None
        for item in hooks.answer(location, settings)
    ]
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
