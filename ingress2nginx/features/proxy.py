"""proxy-* and friends: how nginx talks to the backend for one Ingress's paths.

Each option overrides the global value (``--config``, ingress-nginx's ConfigMap keys and
defaults, written once at http level); a location only gets a directive when its Ingress asks
for something different, which keeps the output small.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from ingress2nginx.core.actions import ProxyToUpstream, Split
from ingress2nginx.core.codes import Code
from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.quoting import Token, compose, expanded, literal, trusted
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features.base import (
    PREFIX,
    Annotation,
    AnnotationValueError,
    Hooks,
    partly,
    supported,
)
from ingress2nginx.features.values import choice, in_bytes, integer, offset, seconds, size, words

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location

NEXT_UPSTREAM_CONDITIONS = (
    "error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
    "http_403", "http_404", "http_429", "non_idempotent", "off",
)  # fmt: skip
BACKEND_PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "GRPCS", "AUTO_HTTP")
_PROTOCOLS = {
    "HTTP": ("http", "proxy_pass"),
    "HTTPS": ("https", "proxy_pass"),
    "AUTO_HTTP": ("$scheme", "proxy_pass"),
    "GRPC": ("grpc", "grpc_pass"),
    "GRPCS": ("grpcs", "grpc_pass"),
}


def protocol(backend_protocol: str) -> tuple[str, str]:
    """(URL scheme, pass directive) for backend-protocol."""
    return _PROTOCOLS[backend_protocol]


def _rewrite_pair(value: str) -> tuple[str, ...]:
    """``off``, ``default``, or ``FROM TO`` (two URL-ish words without ``$``)."""
    parts = value.split()
    if parts in (["off"], ["default"]):
        return tuple(parts)
    if len(parts) == 2 and all(_plain_word(part) for part in parts):
        return tuple(parts)
    raise AnnotationValueError('must be "off", "default", or two words: from and to')


def _plain_word(word: str) -> bool:
    return all(char.isalnum() or char in "-._~/:@%+=,*!" for char in word)


def _url_word(value: str) -> str:
    word = value.strip()
    if not word or not _plain_word(word):
        raise AnnotationValueError("must be a URL or path without spaces, quotes or $")
    return word


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    """Proxy settings one Ingress overrides; None keeps the global value."""

    body_size: str | None = None
    connect_timeout: int | None = None
    send_timeout: int | None = None
    read_timeout: int | None = None
    buffering: str | None = None
    buffer_size: str | None = None
    buffers_number: int | None = None
    busy_buffers_size: str | None = None
    max_temp_file_size: str | None = None
    request_buffering: str | None = None
    client_body_buffer_size: str | None = None
    http_version: str | None = None
    next_upstream: tuple[str, ...] | None = None
    next_upstream_tries: int | None = None
    next_upstream_timeout: int | None = None
    redirect_from: str | None = None
    redirect_to: str | None = None
    cookie_path: tuple[str, ...] | None = None
    cookie_domain: tuple[str, ...] | None = None
    backend_protocol: str = "HTTP"
    connection_header: str | None = None

    @property
    def changed(self) -> bool:
        """Whether any option is set (the common case is none)."""
        return self != DEFAULT_PROXY


DEFAULT_PROXY = ProxyOptions()

ANNOTATIONS: tuple[Annotation, ...] = (
    supported("proxy-body-size", "Largest request body (client_max_body_size).",
              "proxy.body_size", offset),
    supported("proxy-connect-timeout", "Seconds to connect to the backend.",
              "proxy.connect_timeout", seconds),
    supported("proxy-send-timeout", "Seconds between two writes to the backend.",
              "proxy.send_timeout", seconds),
    supported("proxy-read-timeout", "Seconds between two reads from the backend.",
              "proxy.read_timeout", seconds),
    supported("proxy-buffering", "Buffer backend responses: on or off.",
              "proxy.buffering", choice("on", "off")),
    supported("proxy-buffer-size", "Size of the buffer for the response head, and of each"
              " proxy buffer.", "proxy.buffer_size", size),
    supported("proxy-buffers-number", "Number of proxy buffers.",
              "proxy.buffers_number", integer(1, 1024)),
    supported("proxy-busy-buffers-size", "proxy_busy_buffers_size.",
              "proxy.busy_buffers_size", size),
    supported("proxy-max-temp-file-size", "proxy_max_temp_file_size (a size: k or m, no g).",
              "proxy.max_temp_file_size", size),
    supported("proxy-request-buffering", "Buffer request bodies before proxying: on or off.",
              "proxy.request_buffering", choice("on", "off")),
    supported("client-body-buffer-size", "Buffer size for reading request bodies.",
              "proxy.client_body_buffer_size", size),
    supported("proxy-http-version", "HTTP version to the backend: 1.0 or 1.1.",
              "proxy.http_version", choice("1.0", "1.1")),
    supported("proxy-next-upstream", "When to try the next endpoint (proxy_next_upstream).",
              "proxy.next_upstream", words(NEXT_UPSTREAM_CONDITIONS)),
    supported("proxy-next-upstream-tries", "How many endpoints to try (0: no limit).",
              "proxy.next_upstream_tries", integer(0, 1000)),
    supported("proxy-next-upstream-timeout", "Seconds for trying endpoints (0: no limit).",
              "proxy.next_upstream_timeout", seconds),
    supported("proxy-redirect-from", "Rewrite Location headers from the backend: the text"
              " to replace; off, or default (the proxied URL becomes this server's, as nginx's"
              " proxy_redirect default).", "proxy.redirect_from", _url_word),
    supported("proxy-redirect-to", "The replacement for proxy-redirect-from.",
              "proxy.redirect_to", _url_word),
    supported("proxy-cookie-path", "Rewrite cookie paths: off, or FROM TO.",
              "proxy.cookie_path", _rewrite_pair),
    supported("proxy-cookie-domain", "Rewrite cookie domains: off, or FROM TO.",
              "proxy.cookie_domain", _rewrite_pair),
    partly("backend-protocol", "Protocol to the backend: HTTP, HTTPS, GRPC, GRPCS, AUTO_HTTP.",
           "FCGI is refused (it needs fastcgi parameters ingress2nginx does not write); gRPC"
           " clients need HTTP/2, which nginx offers on the HTTPS listener only.",
           "proxy.backend_protocol", choice(*BACKEND_PROTOCOLS, lower=False)),
    supported("connection-proxy-header", "The Connection header sent to the backend.",
              "proxy.connection_header", _url_word),
)  # fmt: skip


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """Directives for the settings this Ingress changes from the global values."""
    options, config = location.options.proxy, settings.config
    if not options.changed:
        return []
    found: list[Directive] = []
    for name, value in _simple(options, config):
        found.append(directive(name, value))
    if options.buffer_size is not None or options.buffers_number is not None:
        number = options.buffers_number or config.proxy_buffers_number
        buffer = options.buffer_size or config.proxy_buffer_size
        found.append(directive("proxy_buffers", number, literal(buffer)))
    if options.next_upstream is not None:
        found.append(directive("proxy_next_upstream", *map(trusted, options.next_upstream)))
    found.extend(_redirect(location))
    for name, pair in (("proxy_cookie_path", options.cookie_path),
                       ("proxy_cookie_domain", options.cookie_domain)):  # fmt: skip
        if pair is not None:
            found.append(directive(name, *(expanded(part) for part in pair)))
    return found


def _secs(value: int) -> Token:
    return trusted(f"{int(value)}s")


_SIMPLE: tuple[tuple[str, str, str | None, Any], ...] = (
    ("client_max_body_size", "body_size", "proxy_body_size", literal),
    ("proxy_connect_timeout", "connect_timeout", "proxy_connect_timeout", _secs),
    ("proxy_send_timeout", "send_timeout", "proxy_send_timeout", _secs),
    ("proxy_read_timeout", "read_timeout", "proxy_read_timeout", _secs),
    ("proxy_buffering", "buffering", "proxy_buffering", trusted),
    ("proxy_buffer_size", "buffer_size", "proxy_buffer_size", literal),
    ("proxy_busy_buffers_size", "busy_buffers_size", None, literal),
    ("proxy_max_temp_file_size", "max_temp_file_size", None, literal),
    ("proxy_request_buffering", "request_buffering", "proxy_request_buffering", trusted),
    ("client_body_buffer_size", "client_body_buffer_size", "client_body_buffer_size", literal),
    ("proxy_http_version", "http_version", "proxy_http_version", trusted),
    ("proxy_next_upstream_tries", "next_upstream_tries", "proxy_next_upstream_tries", int),
    ("proxy_next_upstream_timeout", "next_upstream_timeout", "proxy_next_upstream_timeout",
     _secs),
)  # fmt: skip
"""The one-argument directives: (directive, option field, global field or None, how its
value becomes a token)."""


def _simple(options: ProxyOptions, config: GlobalConfig) -> list[tuple[str, Token | int]]:
    """One-argument directives whose value differs from the global one."""
    found: list[tuple[str, Token | int]] = []
    for name, option, default, make in _SIMPLE:
        value = getattr(options, option)
        if value is None or (default is not None and value == getattr(config, default)):
            continue
        found.append((name, make(value)))
    return found


def _redirect(location: Location) -> list[Directive]:
    options = location.options.proxy
    source = options.redirect_from
    if source is None:
        return []
    if source == "off":
        return [directive("proxy_redirect", trusted("off"))]
    if source == "default":
        return [directive("proxy_redirect", _proxied_url(location), trusted("/"))]
    if options.redirect_to is None:
        return []
    return [directive("proxy_redirect", expanded(source), expanded(options.redirect_to))]


def _proxied_url(location: Location) -> Token:
    """What ``proxy_redirect default`` replaces: the ``proxy_pass`` URL (it has no path), so
    ``Location: http://<upstream>/x`` becomes ``/x``. Written out, because nginx takes
    ``default`` only after ``proxy_pass`` and never with a variable in it."""

    scheme, _ = protocol(location.options.proxy.backend_protocol)
    action = location.action
    if isinstance(action, ProxyToUpstream):
        return compose(trusted(f"{scheme}://"), action.upstream, trusted("/"))
    if isinstance(action, Split):
        return trusted(f"{scheme}://${action.name}/")
    return trusted(f"{scheme}://$service_address/")


def proxy_headers(location: Location) -> dict[str, Token]:
    """Headers to the backend: Connection from connection-proxy-header."""
    options = location.options.proxy
    if options.connection_header is not None:
        return {"Connection": expanded(options.connection_header)}
    return {}


BUFFER_FIELDS = ("buffer_size", "buffers_number", "busy_buffers_size", "max_temp_file_size")
_ANNOTATION_OF = {
    "buffer_size": "proxy-buffer-size",
    "buffers_number": "proxy-buffers-number",
    "busy_buffers_size": "proxy-busy-buffers-size",
    "max_temp_file_size": "proxy-max-temp-file-size",
}
"""Options nginx checks against each other (ngx_http_proxy_module's merge of buffers)."""


def buffer_problem(options: ProxyOptions, config: GlobalConfig) -> str | None:
    """Why nginx would refuse the buffer settings these options give, or None.

    nginx's rules: at least 2 buffers of a non-zero size; proxy_busy_buffers_size at least one
    buffer and less than all buffers but one (its default is two buffers); a
    proxy_max_temp_file_size of 0 or at least one buffer. Each value alone passes its
    allowlist, so the combination is checked here, where the global values are known.
    """
    number = options.buffers_number or config.proxy_buffers_number
    one = in_bytes(options.buffer_size or config.proxy_buffer_size)
    if one == 0:
        return "proxy-buffer-size must not be 0"
    if number < 2:
        return "nginx needs at least 2 proxy buffers"
    busy = in_bytes(options.busy_buffers_size) if options.busy_buffers_size else 2 * one
    if busy < one:
        return "proxy-busy-buffers-size must be at least proxy-buffer-size"
    if busy >= (number - 1) * one:
        return (
            f"proxy-busy-buffers-size ({busy} bytes) must be less than all proxy buffers but"
            f" one ({(number - 1) * one} bytes): raise proxy-buffers-number"
        )
    limit = options.max_temp_file_size
    if limit is not None and 0 < in_bytes(limit) < one:
        return "proxy-max-temp-file-size must be 0 or at least proxy-buffer-size"
    return None


def admit(ingress: Any, options: Any, settings: Settings) -> tuple[Any, list[Problem]]:
    """Leave out buffer settings nginx would refuse (and so block every config change),
    with a warning naming the Ingress; the rest of the Ingress is served."""
    proxy = options.proxy
    if not any(getattr(proxy, name) is not None for name in BUFFER_FIELDS):
        return options, []
    problem = buffer_problem(proxy, settings.config)
    if problem is None:
        return options, []
    cleared = replace(proxy, **{name: None for name in BUFFER_FIELDS})
    given = [name for name in BUFFER_FIELDS if getattr(proxy, name) is not None]
    field = f"metadata.annotations[{PREFIX}{_ANNOTATION_OF[given[0]]}]"
    reason = f"{problem}; the proxy buffer annotations are ignored"
    warning = Problem(Severity.WARNING, ingress.ref, field, reason, Code.BUFFERS)
    return replace(options, proxy=cleared), [warning]


HOOKS = Hooks(location=location_directives, headers=proxy_headers, admit=admit, inherited=True)


def option_names() -> tuple[str, ...]:
    """Field names of ProxyOptions (for tests that walk every option)."""
    return tuple(field.name for field in fields(ProxyOptions))
