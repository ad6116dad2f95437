"""enable-cors and cors-*: Cross-Origin Resource Sharing answered by nginx itself.

As in ingress-nginx: when the request's ``Origin`` is allowed, every response of the Ingress's
paths carries ``Access-Control-Allow-Origin`` (the Origin echoed back, or ``*``) and the other
``Access-Control-*`` headers, and a preflight (``OPTIONS`` from an allowed Origin) is answered
by nginx with 204 and those headers, never reaching the backend. A request from any other
Origin is proxied untouched, without CORS headers.

With ``cors-allow-origin: "*"`` (the default) every Origin is allowed, so the headers are plain
``add_header`` lines. With a list of origins, whether the Origin is allowed is a ``map`` at
http level (one case-insensitive, anchored regex for the list; ``https://*.example.com``
matches one label), and every header value is a ``map`` of that answer, empty when the Origin
is not allowed — nginx's ``add_header`` sends nothing for an empty value. The maps of one CORS
configuration are named by a digest of it, so Ingresses asking for the same share them and the
name never depends on any other Ingress.

An entry of cors-allow-origin that is not an origin (``example.com``, without scheme) is
dropped with a warning and the rest kept, as ingress-nginx skips it. When no entry is left, no
Origin is allowed: nginx adds nothing and the requests, preflights included, are proxied as if
CORS were off — never every Origin, which a list was meant to narrow.

The headers this module sets are hidden from the backend's response (``proxy_hide_header``),
so a backend answering CORS itself never produces a duplicate ``Access-Control-Allow-Origin``
(which browsers reject); ingress-nginx overwrites them instead, keeping the backend's when the
Origin is not allowed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import expanded, literal, trusted
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    Kept,
    partly,
    supported,
)
from ingress2nginx.features.values import integer, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, Location

DEFAULT_METHODS = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
DEFAULT_HEADERS = (
    "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,"
    "Range,Authorization"
)
DEFAULT_MAX_AGE = 1728000
ANY_ORIGIN = "*"

_ORIGIN = re.compile(r"[a-z]+://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?\Z")
"""``scheme://host[:port]``, the host optionally starting with ``*.`` (one label)."""
_METHOD = re.compile(r"[A-Za-z]+\Z")
_HEADER = re.compile(r"[A-Za-z0-9_-]+\Z")
_EXPOSED = re.compile(r"(?:[A-Za-z0-9_-]+|\*)\Z")
_WILDCARD_LABEL = "[A-Za-z0-9-]+"


@dataclass(frozen=True, slots=True)
class CorsOptions:
    """CORS as one Ingress asks for it; the defaults are ingress-nginx's."""

    enabled: bool = False
    """``enable-cors``."""
    allow_origin: tuple[str, ...] = (ANY_ORIGIN,)
    """``cors-allow-origin``: ``("*",)``, or origins (``https://a.com``, ``https://*.a.com``,
    ``null``); empty when every listed entry was dropped: no Origin is allowed."""
    allow_methods: str = DEFAULT_METHODS
    allow_headers: str = DEFAULT_HEADERS
    allow_credentials: bool = True
    expose_headers: str = ""
    """Empty: no ``Access-Control-Expose-Headers``."""
    max_age: int = DEFAULT_MAX_AGE

    @property
    def any_origin(self) -> bool:
        """Whether every Origin is allowed (no map needed)."""
        return self.allow_origin == (ANY_ORIGIN,)


def parse_origins(value: str) -> tuple[str, ...] | Kept:
    """Comma-separated origins; ``*`` anywhere allows every origin, as in ingress-nginx.

    An entry that is not an origin (``example.com``, without scheme) is dropped with a warning
    and the others are kept, as ingress-nginx skips it; when none is left, no Origin is
    allowed (never every Origin, which is what the annotation narrows)."""
    origins = [item.strip() for item in value.split(",") if item.strip()]
    if not origins:
        raise AnnotationValueError("must be * or origins like https://example.com")
    if ANY_ORIGIN in origins:
        return (ANY_ORIGIN,)
    bad = [origin for origin in origins if origin != "null" and not _ORIGIN.match(origin)]
    kept = tuple(dict.fromkeys(origin for origin in origins if origin not in bad))
    if not bad:
        return kept
    left = "the others are kept" if kept else "no Origin is allowed"
    listed = ", ".join(repr(origin) for origin in bad)
    return Kept(
        kept,
        f"{listed} dropped: {'not an origin' if len(bad) == 1 else 'not origins'} (use"
        f" scheme://host[:port], scheme://*.host[:port], null, or *); {left}",
    )


def _list_of(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    """A comma-separated list of items matching `pattern`, normalized to ``a, b``."""

    def parse(value: str) -> str:
        items = [item.strip() for item in value.split(",")]
        if len(items) > 1 and not items[-1]:
            items.pop()  # a trailing comma, which ingress-nginx accepts
        if not items or not all(pattern.match(item) for item in items):
            raise AnnotationValueError(f"must be {what} separated by commas")
        return ", ".join(items)

    return parse


ANNOTATIONS: tuple[Annotation, ...] = (
    partly(
        "enable-cors",
        "Answer CORS for the Ingress's paths: Access-Control-* headers on responses to allowed"
        " Origins, and preflight OPTIONS requests answered by nginx with 204.",
        "the backend's own Access-Control-* response headers are replaced by nginx's (and"
        " removed when the Origin is not allowed; ingress-nginx then keeps them); origins are"
        " matched as a whole (ingress-nginx's match is not anchored at the start)",
        "cors.enabled",
        parse_bool,
    ),
    supported(
        "cors-allow-origin",
        "Allowed Origins, comma-separated: scheme://host[:port], scheme://*.host[:port] (one"
        " label), null, or * (default: *). An entry that is not an origin is dropped, the rest"
        " kept; when none is left no Origin is allowed.",
        "cors.allow_origin",
        parse_origins,
    ),
    supported(
        "cors-allow-methods",
        "Access-Control-Allow-Methods: method names, comma-separated (default:"
        f" {DEFAULT_METHODS}).",
        "cors.allow_methods",
        _list_of(_METHOD, "method names (letters)"),
    ),
    supported(
        "cors-allow-headers",
        "Access-Control-Allow-Headers: header names, comma-separated (default: ingress-nginx's"
        " list, DNT,Keep-Alive,User-Agent,...,Authorization).",
        "cors.allow_headers",
        _list_of(_HEADER, "header names (letters, digits, - and _)"),
    ),
    supported(
        "cors-expose-headers",
        "Access-Control-Expose-Headers: header names or *, comma-separated (default: none).",
        "cors.expose_headers",
        _list_of(_EXPOSED, "header names (letters, digits, - and _) or *"),
    ),
    supported(
        "cors-allow-credentials",
        "Send Access-Control-Allow-Credentials: true (default: true).",
        "cors.allow_credentials",
        parse_bool,
    ),
    supported(
        "cors-max-age",
        f"Access-Control-Max-Age in seconds (default: {DEFAULT_MAX_AGE}).",
        "cors.max_age",
        integer(0, 2147483647),
    ),
)


@functools.lru_cache(maxsize=1024)
def _prefix(options: CorsOptions) -> str:
    """Variable name prefix of one CORS configuration's maps: a digest of the configuration."""
    text = repr((options.allow_origin, options.allow_methods, options.allow_headers,
                 options.allow_credentials, options.expose_headers, options.max_age))  # fmt: skip
    return "cors_" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _values(options: CorsOptions) -> list[tuple[str, str, str]]:
    """(response header, map suffix, value) of every header but Access-Control-Allow-Origin."""
    values = []
    if options.allow_credentials:
        values.append(("Access-Control-Allow-Credentials", "credentials", "true"))
    values.append(("Access-Control-Allow-Methods", "methods", options.allow_methods))
    values.append(("Access-Control-Allow-Headers", "headers", options.allow_headers))
    if options.expose_headers:
        values.append(("Access-Control-Expose-Headers", "expose", options.expose_headers))
    values.append(("Access-Control-Max-Age", "max_age", str(options.max_age)))
    return values


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """The preflight answer, the response headers, and the backend's copies hidden."""
    options = location.options.cors
    if not options.enabled or not options.allow_origin:
        return []
    always = trusted("always")
    if options.any_origin:
        preflight = [trusted("($request_method"), trusted("="), trusted("OPTIONS)")]
        headers = [("Access-Control-Allow-Origin", trusted(ANY_ORIGIN))]
        headers += [(name, expanded(value)) for name, _, value in _values(options)]
    else:
        prefix = _prefix(options)
        preflight = [trusted(f"(${prefix}_preflight)")]
        headers = [("Access-Control-Allow-Origin", trusted(f"${prefix}_origin"))]
        headers += [(name, trusted(f"${prefix}_{suffix}")) for name, suffix, _ in _values(options)]
    grpc = location.options.proxy.backend_protocol in ("GRPC", "GRPCS")
    hide = "grpc_hide_header" if grpc else "proxy_hide_header"
    return [
        block("if", preflight, [directive("return", 204)]),
        *(directive("add_header", trusted(name), value, always) for name, value in headers),
        *(directive(hide, trusted(name)) for name, _ in headers),
    ]


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """The maps of every CORS configuration with a list of origins, once each."""
    found: dict[str, CorsOptions] = {}
    for server in config.servers:
        for location in server.locations:
            options = location.options.cors
            if options.enabled and options.allow_origin and not options.any_origin:
                found.setdefault(_prefix(options), options)
    return [item for prefix in sorted(found) for item in _maps(prefix, found[prefix])]


def _maps(prefix: str, options: CorsOptions) -> list[Directive]:
    origin = f"${prefix}_origin"
    maps = [
        block("map", [trusted("$http_origin"), trusted(origin)], [
            entry(trusted("default"), trusted('""')),
            entry(literal(origin_regex(options.allow_origin)), trusted("$http_origin")),
        ]),
    ]  # fmt: skip
    for _, suffix, value in _values(options):
        maps.append(
            block("map", [trusted(origin), trusted(f"${prefix}_{suffix}")], [
                entry(trusted('""'), trusted('""')),
                entry(trusted("default"), expanded(value)),
            ])
        )  # fmt: skip
    maps.append(
        block("map", [trusted(f'"$request_method:{origin}"'), trusted(f"${prefix}_preflight")], [
            entry(trusted("default"), trusted('""')),
            entry(trusted('"~^OPTIONS:."'), trusted("1")),
        ])
    )  # fmt: skip
    return maps


def origin_regex(origins: tuple[str, ...]) -> str:
    """A case-insensitive regex (``~*``) matching exactly the given origins; ``*.`` at the
    start of a host stands for one DNS label."""
    alternatives = []
    for origin in origins:
        escaped = origin.replace(".", "\\.")
        alternatives.append(escaped.replace("://*\\.", f"://{_WILDCARD_LABEL}\\.", 1))
    return "~*^(" + "|".join(alternatives) + ")$"


HOOKS = Hooks(location=location_directives, http=http_directives)
