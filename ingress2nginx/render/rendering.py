"""The model into nginx.conf text, through Jinja templates that only lay text out.

Every value reaches a template as a `Token` built here (quoting.py decides how), and the
environment's ``finalize`` hook refuses anything else that is not a plain number: a template
cannot emit an unchecked string even by mistake. Each server block is rendered on its own and
remembered by its (frozen, hashable) model, so re-rendering after a small change only lays
out the servers that changed; each upstream's view is remembered the same way.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from ingress2nginx import __version__
from ingress2nginx.core.directives import Directive, render_lines
from ingress2nginx.core.errors import TemplateError
from ingress2nginx.core.forking import forked_map
from ingress2nginx.core.quoting import Token, comment, expanded, literal, trusted
from ingress2nginx.core.settings import GlobalConfig, Settings
from ingress2nginx.features import compressing, dns_upstreams, forwarding
from ingress2nginx.features.balancing import upstream_directive
from ingress2nginx.features.forwarding import standard_headers
from ingress2nginx.features.hsts import HSTS_HEADER, own_certificate, writes_hsts
from ingress2nginx.features.passthrough import modules as stream_modules
from ingress2nginx.features.passthrough import stream_block
from ingress2nginx.model import Config, Server, Upstream
from ingress2nginx.normalize.certificates import DEFAULT_CERTIFICATE
from ingress2nginx.render.listens import listened, server_listens
from ingress2nginx.render.views import (
    SERVER_DEPTH,
    feature_server_directives,
    http_directives,
    location_views,
    server_directives,
    server_response_headers,
)

MAIN_TEMPLATE = "nginx.conf.j2"
SERVER_TEMPLATE = "server.conf.j2"
MIN_SHARED_SERVERS = 500
"""Fewer new server blocks than this are all laid out here: a fork costs about what 100 do."""
UPSTREAM_DEPTH = 2
"""Indentation depth of directives inside an ``upstream`` block."""
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
"""nginx's temp paths: all go under --runtime-dir so the output runs unprivileged."""
STATUS_ADDRESS = "127.0.0.1"
"""Watch mode's config-identity server listens here only (see `Settings.status_port`)."""
STATUS_PATH = "/ingress2nginx/config-identity"
"""Where that server answers the identity of the config nginx runs."""
IDENTITY_PLACEHOLDER = Token("\x00ingress2nginx-config-identity\x00")
"""Stands for the config's identity in the rendered text until reloading.py stamps it. Its
NUL bytes cannot come from input (quoting refuses control characters), so it is unique."""


def bundled_template_dir() -> Path:
    """The templates shipped with the package (the repository's top-level ``templates/``).

    The package's own copy when installed from a wheel (``ingress2nginx/templates``); the
    checkout's ``templates/`` when running from one (found by its pyproject.toml), so a
    checkout never renders with the templates of another, installed, copy.
    """
    package = Path(__file__).resolve().parent.parent
    if (package / "templates" / MAIN_TEMPLATE).is_file():
        return package / "templates"
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (
        checkout / "templates" / MAIN_TEMPLATE
    ).is_file():
        return checkout / "templates"
    return Path(str(importlib.resources.files("ingress2nginx.templates")))


class Renderer:
    """Renders configs with one template set, reusing unchanged server blocks."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._environment = _environment(settings.template_dir)
        self._servers: dict[Server, Token] = {}
        self._upstreams: dict[Upstream, dict[str, Any]] = {}
        self._https = False
        self._passthrough = False
        self._h2c = False

    def render(self, config: Config, workers: int = 1) -> str:
        """The whole nginx.conf for `config`; with `workers` > 1, forked copies of this process
        lay out their share of the server blocks meanwhile (core/forking.py: the one-shot
        ``render``; the text is the same)."""
        shape = (config.https, bool(config.passthrough), config.h2c)
        if shape != (self._https, self._passthrough, self._h2c):
            self._https, self._passthrough, self._h2c = shape
            self._servers = {}
        server_template = self._template(SERVER_TEMPLATE)
        listening = [server for server in config.servers if listened(server, config.https)]
        servers = self._servers_laid_out(listening, server_template, workers)
        self._servers = servers
        upstreams = {upstream: self._upstream(upstream) for upstream in config.upstreams}
        self._upstreams = upstreams
        template = self._template(MAIN_TEMPLATE)
        try:
            return template.render(
                version=literal(__version__),
                summary=comment(_summary(config, servers)),
                **_main_view(config, self._settings),
                upstreams=list(upstreams.values()),
                servers=list(servers.values()),
            )
        except jinja2.TemplateError as error:
            raise TemplateError(f"{MAIN_TEMPLATE}: {error}") from error

    def _servers_laid_out(
        self, servers: Sequence[Server], template: jinja2.Template, workers: int
    ) -> dict[Server, Token]:
        """Each server's block: remembered, or laid out now (shared out when there are
        enough to be worth a fork)."""
        new = [server for server in servers if server not in self._servers]
        if len(new) < MIN_SHARED_SERVERS:
            workers = 1
        texts = forked_map(functools.partial(self._laid_out, template=template), new, workers)
        laid_out = dict(zip(new, map(Token, texts), strict=True))
        kept = self._servers
        return {
            server: laid_out[server] if server in laid_out else kept[server] for server in servers
        }

    def _laid_out(self, server: Server, template: jinja2.Template) -> str:
        return str(self._server(server, template))

    def _server(self, server: Server, template: jinja2.Template) -> Token:
        cached = self._servers.get(server)
        if cached is not None:
            return cached
        try:
            text = template.render(
                **_server_view(server, self._settings, self._https, self._passthrough, self._h2c)
            )
        except jinja2.TemplateError as error:
            raise TemplateError(f"{SERVER_TEMPLATE}: {error}") from error
        return Token(text)

    def _upstream(self, upstream: Upstream) -> dict[str, Any]:
        cached = self._upstreams.get(upstream)
        if cached is None:
            keepalive = self._settings.config.upstream_keepalive_connections
            cached = _upstream_view(upstream, keepalive)
        return cached

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self._environment.get_template(name)
        except jinja2.TemplateError as error:
            raise TemplateError(f"template {name}: {error}") from error


class _Environment(jinja2.Environment):
    """Jinja's environment, each template's globals (``range``, ``namespace``...) kept in a
    plain dict: Jinja's default, a ChainMap over the environment's, is copied key by key in
    Python on every render (twice), which costs more than laying out a small server block.
    Neither is changed after loading, so the dict holds the same names and values."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def _environment(override: Path | None) -> jinja2.Environment:
    search = [str(override)] if override else []
    search.append(str(bundled_template_dir()))
    return _Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize,
    )


def _finalize(value: Any) -> str:
    """Fail closed: only tokens and plain integers may be written into the config."""
    if isinstance(value, Token):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(
        f"template tried to emit {type(value).__name__} {value!r}: "
        "only values made by ingress2nginx.core.quoting may appear in nginx.conf"
    )


def _main_view(config: Config, settings: Settings) -> dict[str, Any]:
    runtime = settings.runtime_dir
    names = [name for server in config.servers for name in server.server_names]
    return {
        "pid": literal(str(runtime / "nginx.pid")) if runtime else None,
        "user": tuple(literal(name) for name in settings.nginx_user)
        if settings.nginx_user
        else None,
        "temp_paths": [
            (trusted(f"{kind}_temp_path"), literal(str(runtime / kind))) for kind in TEMP_PATHS
        ]
        if runtime
        else [],
        "resolver": dns_upstreams.resolver_view(
            settings, config.resolves_at_request_time, config.upstreams
        ),
        "upstream_zone": dns_upstreams.zone_view(config.upstreams),
        "stand_in": dns_upstreams.stand_in_view(settings),
        "names_hash_bucket_size": _names_bucket_size(names),
        "names_hash_max_size": _names_max_size(len(names)),
        "core": _core_view(settings.config),
        "proxy": _proxy_view(settings.config, standard_headers(settings)),
        "extra": http_directives(config, settings),
        "forwarding": render_lines(
            forwarding.http_directives(settings, [port for port, _ in config.listener_ports]), 1
        ),
        "gzip": render_lines(compressing.http_directives(settings.config), 1) or None,
        "tls": _tls_view(settings) if config.serves_tls else None,
        "status": _status_view(settings),
        "modules": stream_modules(config, settings),
        "stream": stream_block(config, settings),
    }


def _status_view(settings: Settings) -> dict[str, Any] | None:
    """Watch mode's loopback server answering the config's identity; None otherwise."""
    if settings.status_port is None:
        return None
    return {
        "listen": literal(f"{STATUS_ADDRESS}:{settings.status_port}"),
        "allow": literal(STATUS_ADDRESS),
        "path": literal(STATUS_PATH),
        "identity": IDENTITY_PLACEHOLDER,
    }


def _tls_view(settings: Settings) -> dict[str, Any]:
    """HTTP-level TLS settings: protocols, ciphers, session cache, the default certificate."""
    config = settings.config
    return {
        "protocols": [literal(protocol) for protocol in config.ssl_protocols],
        "ciphers": literal(config.ssl_ciphers),
        "session_cache": literal(f"shared:SSL:{config.ssl_session_cache_size}"),
        "session_timeout": literal(config.ssl_session_timeout),
        "certificate": _certificate_paths(settings, DEFAULT_CERTIFICATE),
        "scheme": trusted(forwarding.scheme_variable(settings.config)),
        "hsts": expanded(config.hsts_header) if config.hsts else None,
    }


def _certificate_paths(settings: Settings, stem: str) -> tuple[Token, Token]:
    directory = settings.cert_dir
    return literal(file_in(directory, f"{stem}.crt")), literal(file_in(directory, f"{stem}.key"))


def file_in(directory: Path, name: str) -> str:
    """``str(directory / name)``; for a name that is one plain path component (the common
    case) joined as text, which skips pathlib's parsing (a server's certificate paths)."""
    base = str(directory)
    if "/" in name or name in ("", ".") or base == "." or base.endswith("/"):
        return str(directory / name)
    return f"{base}/{name}"


def _server_view(
    server: Server, settings: Settings, https: bool, passthrough: bool = False, h2c: bool = False
) -> dict[str, Any]:
    """A server as the template lays it out. HTTP/2 is on with HTTPS (ALPN), and with `h2c`
    (gRPC on plain HTTP) everywhere: nginx decides h2c by the port's default server, and a
    request for another server needs it there too (else 421); with ``http2 on;`` HTTP/1.1 is
    served as before."""
    own = own_certificate(server)
    hsts = writes_hsts(server, settings)
    by_features = feature_server_directives(server, settings)
    headers = server_response_headers(by_features, hsts)
    listens = server_listens(server, settings, https, passthrough)
    secure = server.listens_https and (https or server.port is not None)
    return {
        "listen": listens[0],
        "listen_https": listens[1] if len(listens) > 1 else None,
        "http2_directive": (https or secure or h2c) and settings.http2_directive,
        "server_names": [literal(name) for name in server.server_names],
        "certificate": _server_certificate(server, settings, secure, own),
        "hsts": render_lines([HSTS_HEADER], SERVER_DEPTH) if hsts else None,
        "extra": server_directives(server, by_features),
        **_locations_view(server, settings, headers),
    }


def _server_certificate(
    server: Server, settings: Settings, https: bool, own_certificate: bool
) -> tuple[Token, Token] | None:
    """The host's own certificate; for the default server the default certificate, which
    nginx also presents to server names without one (set only there, not at http level, it
    spares nginx an SSL context per server: a quarter of ``nginx -t`` at 10,000 hosts)."""
    if own_certificate and server.tls is not None:
        return _certificate_paths(settings, server.tls.certificate)
    if https and server.default:
        return _certificate_paths(settings, DEFAULT_CERTIFICATE)
    return None


def _locations_view(
    server: Server, settings: Settings, headers: Sequence[Directive]
) -> dict[str, Any]:
    """The locations, laid out (views.py decides what each writes and what the server writes
    once for all of them)."""
    locations = location_views(server, settings, headers)
    inherited = locations.inherited
    return {
        "redirect": locations.redirect,
        "inherited": render_lines(inherited, SERVER_DEPTH) if inherited else None,
        "locations": locations.views,
    }


def _upstream_view(upstream: Upstream, keepalive: int) -> dict[str, Any]:
    method = upstream_directive(upstream.balancing)
    return {
        "name": literal(upstream.name),
        "note": comment(upstream.service),
        "method": render_lines([method], UPSTREAM_DEPTH) if method is not None else None,
        "servers": [dns_upstreams.server_token(upstream.resolve)]
        if upstream.resolve is not None
        else [literal(str(endpoint)) for endpoint in upstream.endpoints],
        "zoned": upstream.resolve is not None,
        "keepalive": keepalive,
    }


def _core_view(config: GlobalConfig) -> dict[str, Any]:
    """Process-wide and http-wide settings from the global options."""
    return {
        "worker_processes": literal(config.worker_processes),
        "worker_connections": config.max_worker_connections,
        "error_log_level": literal(config.error_log_level),
        "access_log": trusted(
            "off" if config.disable_access_log else f"/dev/stdout {forwarding.LOG_FORMAT_NAME}"
        ),
        "server_tokens": trusted("on" if config.server_tokens else "off"),
        "keepalive_timeout": trusted(f"{config.keep_alive}s"),
    }


def _proxy_view(config: GlobalConfig, headers: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The proxy defaults every location inherits unless its Ingress changes them."""
    return {
        "headers": [(trusted(name), trusted(value)) for name, value in headers],
        "http_version": literal(config.proxy_http_version),
        "connect_timeout": trusted(f"{config.proxy_connect_timeout}s"),
        "send_timeout": trusted(f"{config.proxy_send_timeout}s"),
        "read_timeout": trusted(f"{config.proxy_read_timeout}s"),
        "buffering": literal(config.proxy_buffering),
        "buffer_size": literal(config.proxy_buffer_size),
        "buffers_number": config.proxy_buffers_number,
        "request_buffering": literal(config.proxy_request_buffering),
        "next_upstream": [literal(word) for word in config.proxy_next_upstream],
        "next_upstream_tries": config.proxy_next_upstream_tries,
        "next_upstream_timeout": trusted(f"{config.proxy_next_upstream_timeout}s"),
        "body_size": literal(config.proxy_body_size),
        "client_body_buffer_size": literal(config.client_body_buffer_size),
    }


def _names_bucket_size(names: Iterable[str]) -> int:
    """A ``server_names_hash_bucket_size`` holding at least two of the longest names: with
    room for one only, nginx warns that it cannot build an optimal hash (and is slower)."""
    longest = max((len(name) for name in names), default=0)
    return max(64, _next_power_of_two(2 * (longest + 8)))


def _names_max_size(count: int) -> int:
    return max(512, _next_power_of_two(count * 2))


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _summary(config: Config, servers: Iterable[Server]) -> str:
    """What the config holds: the servers written, their locations, the upstreams."""
    written = list(servers)
    locations = sum(len(server.locations) for server in written)
    return f"{len(written)} servers, {locations} locations, {len(config.upstreams)} upstreams"
