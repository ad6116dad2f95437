"""auth-url and friends: external authentication through nginx's ``auth_request``.

Each request for the Ingress's paths is first sent, without its body, to an internal location
of the server (``location = /_external-auth-<digest>``, ``internal``), which proxies it to
auth-url with the original request described in ``X-Original-URL``, ``X-Original-URI``,
``X-Original-Method``, ``X-Auth-Request-Redirect`` (and the client's own headers). A 2xx answer
lets the request through; 401 or 403 is the client's answer (401 redirects to auth-signin when
set, with the original URL in the ``rd`` parameter); anything else, an unreachable auth service
included, is a 500. Headers named by auth-response-headers are copied from the auth answer
into the request to the backend (a client cannot send them itself: nginx replaces them), and
the auth service's ``Set-Cookie`` reaches the client.

The auth URL is proxied through a variable, so its host is resolved when a request comes (the
``resolver`` is written when some auth URL names a host) and never stops nginx from starting.
With auth-cache-key, answers are cached in a zone at http level whose files go under
--runtime-dir (without it, nothing is cached and a warning says so).

Not done: auth-keepalive* (ingress-nginx needs Lua for it: ``auth_request`` does not reuse
upstream keepalive connections), auth-proxy-set-headers (a ConfigMap). An auth-snippet
(snippets.py, when snippets are allowed) goes in the internal location, after the headers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, cast

from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.quoting import Token, compose, expanded, literal, trusted
from ingress2nginx.features.base import (
    Annotation,
    Hooks,
    Invalid,
    OnInvalid,
    partly,
    refused,
    supported,
)
from ingress2nginx.features.external_auth_values import (
    UrlTemplate,
    absolute_url,
    cache_durations,
    cache_key,
    has_parameter,
    header_names,
    parameter_name,
    redirect_target,
    url_or_path,
)
from ingress2nginx.features.hsts import HSTS_HEADER, writes_hsts
from ingress2nginx.features.secured import Lookup, field_names
from ingress2nginx.features.snippets import Verbatim, auth_snippet
from ingress2nginx.features.values import choice, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, Location, Server

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE")
DEFAULT_REDIRECT_PARAM = "rd"
DEFAULT_CACHE_DURATION: tuple[tuple[str, ...], ...] = (("200", "202", "401", "5m"),)
CACHE_ZONE = "auth_cache"
CACHE_FOLDER = "auth-cache"
SENT_FROM = "nginx-ingress-controller"
"""``X-Sent-From`` as ingress-nginx sends it: auth services may check it."""


@dataclass(frozen=True, slots=True)
class ExternalAuth:
    """A checked external authentication, ready to be written."""

    name: str
    """Digest naming the internal locations (one per Ingress and server)."""
    url: UrlTemplate
    method: str | None
    signin: UrlTemplate | None
    redirect_param: str
    response_headers: tuple[str, ...]
    request_redirect: str | None
    cache_key: tuple[str, ...] | None
    """None: answers are not cached."""
    cache_durations: tuple[tuple[str, ...], ...]
    always_set_cookie: bool

    @property
    def path(self) -> str:
        """The internal location ``auth_request`` asks."""
        return f"/_external-auth-{self.name}"

    @property
    def signin_location(self) -> str:
        """The named location a 401 goes to when auth-signin is set."""
        return f"@external-auth-signin-{self.name}"


@dataclass(frozen=True, slots=True)
class ExternalAuthOptions:
    """External authentication one Ingress asks for; `plan` once resolved."""

    url: UrlTemplate | Invalid | None = None
    method: str | Invalid | None = None
    signin: UrlTemplate | Invalid | None = None
    redirect_param: str | Invalid = DEFAULT_REDIRECT_PARAM
    response_headers: tuple[str, ...] | Invalid = ()
    request_redirect: str | Invalid | None = None
    cache_key: tuple[str, ...] | Invalid | None = None
    cache_durations: tuple[tuple[str, ...], ...] | Invalid = DEFAULT_CACHE_DURATION
    always_set_cookie: bool | Invalid = False
    plan: ExternalAuth | None = None
    denied: str | None = None


_NOT_DONE = "ingress-nginx implements auth keepalive with Lua; nginx's auth_request does not reuse"
_NOT_DONE += " upstream keepalive connections (requests to auth-url still work, without keepalive)"

ANNOTATIONS: tuple[Annotation, ...] = (
    partly("auth-url", "External authentication: each request is first checked by this http(s)"
           " URL (auth_request); 2xx lets it through, 401/403 are answered to the client.",
           "variables in the URL are limited to $host, $http_host, $best_http_host, $scheme,"
           " $request_uri, $escaped_request_uri (written unescaped, as $request_uri) and"
           " $pass_access_scheme; X-Original-URI and X-Scheme are always sent (ingress-nginx"
           " sends them only with auth-method); an invalid value makes the paths answer 503",
           "external_auth.url", absolute_url, OnInvalid.DENY),
    supported("auth-method", "HTTP method of the request to auth-url.",
              "external_auth.method", choice(*METHODS), OnInvalid.DENY),
    partly("auth-signin", "Where a 401 from auth-url redirects (302), the original URL in the"
           " rd parameter.", "the original URL in the rd parameter is not URL-escaped (stock"
           " nginx cannot escape; ingress-nginx uses a module for it): a query string with &"
           " arrives split; same variables as auth-url", "external_auth.signin",
           url_or_path, OnInvalid.DENY),
    supported("auth-signin-redirect-param", "Name of the auth-signin parameter holding the"
              " original URL (default rd).", "external_auth.redirect_param",
              parameter_name, OnInvalid.DENY),
    supported("auth-response-headers", "Headers copied from the auth answer into the request"
              " to the backend, comma-separated.", "external_auth.response_headers",
              header_names, OnInvalid.DENY),
    supported("auth-request-redirect", "X-Auth-Request-Redirect sent to auth-url (default: the"
              " request URI).", "external_auth.request_redirect", redirect_target, OnInvalid.DENY),
    partly("auth-cache-key", "Cache auth answers under this key (variables such as"
           " $remote_user$http_authorization), per server and path.",
           "variables are limited to an allowlist ($remote_user, $remote_addr, $host, $uri,"
           " $args, $http_*, $cookie_*, $arg_*...); the cache needs --runtime-dir",
           "external_auth.cache_key", cache_key, OnInvalid.DENY),
    supported("auth-cache-duration", "How long cached answers live by status, e.g."
              " \"200 202 10m, 401 5m\" (default 200 202 401 5m).",
              "external_auth.cache_durations", cache_durations, OnInvalid.DENY),
    supported("auth-always-set-cookie", "Send the auth answer's Set-Cookie on every response,"
              " errors included (default: only on success).", "external_auth.always_set_cookie",
              parse_bool, OnInvalid.DENY),
    refused("auth-keepalive", "Keepalive connections to auth-url.", _NOT_DONE),
    refused("auth-keepalive-requests", "Requests per keepalive connection to auth-url.",
            _NOT_DONE),
    refused("auth-keepalive-timeout", "Idle timeout of keepalive connections to auth-url.",
            _NOT_DONE),
    refused("auth-keepalive-share-vars", "Share variables with the auth request (keepalive).",
            _NOT_DONE),
    refused("auth-proxy-set-headers", "Headers to send to auth-url, from a ConfigMap.",
            "ingress2nginx reads no ConfigMaps named by Ingresses"),
)  # fmt: skip

_NAMES = field_names(ANNOTATIONS)
_UNSET = ExternalAuthOptions()


def resolve(lookup: Lookup, options: ExternalAuthOptions) -> ExternalAuthOptions:
    """Check the values; the options with a plan, or denied."""
    if options.url is None:
        for item in fields(options):
            if getattr(options, item.name) != getattr(_UNSET, item.name):
                lookup.warn(_NAMES[item.name], "has no effect without auth-url")
        return options
    denied = lookup.invalid(options, _NAMES)
    if denied:
        return replace(options, denied=denied)
    # lookup.invalid found no Invalid marker: every field holds its parsed value.
    key = cast("tuple[str, ...] | None", options.cache_key)
    if key is not None and lookup.runtime_dir is None:
        lookup.warn("auth-cache-key", "the auth cache needs --runtime-dir; answers are not cached")
        key = None
    ingress = lookup.ingress
    plan = ExternalAuth(
        name=hashlib.sha256(f"{ingress.namespace}/{ingress.name}".encode()).hexdigest()[:16],
        url=cast(UrlTemplate, options.url),
        method=cast("str | None", options.method),
        signin=cast("UrlTemplate | None", options.signin),
        redirect_param=cast(str, options.redirect_param),
        response_headers=cast("tuple[str, ...]", options.response_headers),
        request_redirect=cast("str | None", options.request_redirect),
        cache_key=key,
        cache_durations=cast("tuple[tuple[str, ...], ...]", options.cache_durations),
        always_set_cookie=cast(bool, options.always_set_cookie),
    )
    return replace(options, plan=plan)


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``auth_request`` to the internal location; cookies, headers and sign-in from it."""
    plan = location.options.external_auth.plan
    if plan is None:
        return []
    cookie = [trusted("Set-Cookie"), trusted("$auth_cookie")]
    found = [
        directive("auth_request", literal(plan.path)),
        directive(
            "auth_request_set", trusted("$auth_cookie"), trusted("$upstream_http_set_cookie")
        ),
        directive("add_header", *cookie, *([trusted("always")] if plan.always_set_cookie else [])),
    ]
    for index, header in enumerate(plan.response_headers):
        variable = "$upstream_http_" + header.lower().replace("-", "_")
        found.append(
            directive("auth_request_set", trusted(f"$auth_header_{index}"), trusted(variable))
        )
    if plan.signin is not None:
        found.append(directive("error_page", 401, trusted("="), literal(plan.signin_location)))
    return found


def proxy_headers(location: Location) -> dict[str, Token]:
    """auth-response-headers: each from its ``auth_request_set`` variable."""
    plan = location.options.external_auth.plan
    if plan is None:
        return {}
    return {
        header: trusted(f"$auth_header_{index}")
        for index, header in enumerate(plan.response_headers)
    }


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """The internal auth location (and sign-in location) of each Ingress using auth-url."""
    plans: dict[str, tuple[ExternalAuth, Verbatim | None]] = {}
    for location in server.locations:
        plan = location.options.external_auth.plan
        if plan is not None and location.proxies:  # a location nginx answers asks no auth
            plans.setdefault(plan.name, (plan, auth_snippet(location)))
    found: list[Directive] = []
    for plan, snippet in (plans[name] for name in sorted(plans)):
        body = _auth_location(plan, server, snippet)
        found.append(block("location", [trusted("="), literal(plan.path)], body))
        if plan.signin is not None:
            found.append(
                block(
                    "location",
                    [literal(plan.signin_location)],
                    _signin_location(plan, server, settings),
                )
            )
    return found


def _auth_location(
    plan: ExternalAuth, server: Server, snippet: Verbatim | None = None
) -> list[Directive]:
    def header(name: str, value: Token) -> Directive:
        return directive("proxy_set_header", trusted(name), value)

    found = [directive("internal"), directive("access_log", trusted("off"))]
    if plan.cache_key is not None:
        key = compose(server.host or "_", plan.path, *_cache_pieces(plan.cache_key))
        found += [
            directive("proxy_cache", trusted(CACHE_ZONE)),
            directive("proxy_cache_key", key),
            *(
                directive("proxy_cache_valid", *map(literal, entry))
                for entry in plan.cache_durations
            ),
            directive("proxy_buffering", trusted("on")),
        ]
    if plan.method is not None:
        found.append(directive("proxy_method", trusted(plan.method)))
    redirect = expanded(plan.request_redirect) if plan.request_redirect else trusted("$request_uri")
    found += [
        directive("proxy_pass_request_body", trusted("off")),
        directive("proxy_pass_request_headers", trusted("on")),
        header("Content-Length", trusted('""')),
        header("X-Forwarded-Proto", trusted('""')),
        header("X-Request-ID", trusted("$req_id")),
        header("Host", plan.url.host_token()),
        header("X-Original-URL", trusted("$scheme://$best_http_host$request_uri")),
        header("X-Original-URI", trusted("$request_uri")),
        header("X-Original-Method", trusted("$request_method")),
        header("X-Scheme", trusted("$scheme")),
        header("X-Sent-From", trusted(SENT_FROM)),
        header("X-Real-IP", trusted("$remote_addr")),
        header("X-Forwarded-For", trusted("$remote_addr")),
        header("X-Auth-Request-Redirect", redirect),
        *([snippet] if snippet is not None else []),
        directive("proxy_http_version", trusted("1.1")),
        directive("proxy_ssl_server_name", trusted("on")),
        directive("set", trusted("$external_auth_url"), plan.url.token()),
        directive("proxy_pass", trusted("$external_auth_url")),
    ]
    return found


def _cache_pieces(parts: tuple[str, ...]) -> list[Token | str]:
    return [trusted(part) if part.startswith("$") else part for part in parts]


def _signin_location(plan: ExternalAuth, server: Server, settings: Settings) -> list[Directive]:
    """Redirect to auth-signin with the original URL, passing on the auth service's cookie."""
    assert plan.signin is not None
    parts = plan.signin.pieces()
    if not has_parameter(plan.signin, plan.redirect_param):
        separator = "&" if plan.signin.query else "?"
        parts += [
            f"{separator}{plan.redirect_param}=",
            trusted("$scheme://$best_http_host$request_uri"),
        ]
    found = [directive("add_header", trusted("Set-Cookie"), trusted("$auth_cookie"))]
    if writes_hsts(server, settings):
        found.append(HSTS_HEADER)
    found.append(directive("return", 302, compose(*parts)))
    return found


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """The cache zone of auth answers, when some Ingress caches them."""
    cached = any(
        location.options.external_auth.plan is not None
        and location.options.external_auth.plan.cache_key is not None
        for server in config.servers
        for location in server.locations
    )
    if not cached or settings.runtime_dir is None:
        return []
    return [
        directive(
            "proxy_cache_path",
            literal(str(settings.runtime_dir / CACHE_FOLDER)),
            trusted("levels=1:2"),
            trusted(f"keys_zone={CACHE_ZONE}:10m"),
            trusted("max_size=128m"),
            trusted("inactive=30m"),
            trusted("use_temp_path=off"),
        )
    ]


def resolves_names(location: Location) -> bool:
    """Whether the location's auth URL names a host nginx resolves at request time."""
    plan = location.options.external_auth.plan
    return plan is not None and plan.url.resolves_name


HOOKS = Hooks(
    location=location_directives,
    headers=proxy_headers,
    server=server_directives,
    http=http_directives,
)
