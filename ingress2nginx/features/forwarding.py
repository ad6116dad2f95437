"""Who the client is and how it reached us: forwarded headers, real IP, PROXY protocol, logs.

Global options, named as in ingress-nginx's ConfigMap:

- ``use-forwarded-headers``: nginx sits behind a proxy or load balancer that sets
  ``X-Forwarded-*``; trust them (the backend is told the original scheme, host and port, and
  HTTPS redirects use the original scheme) and take the client address from
  ``forwarded-for-header`` (``X-Forwarded-For``) for peers in ``proxy-real-ip-cidr``;
- ``enable-real-ip``: take the client address from that header, trusting nothing else;
- ``compute-full-forwarded-for``: append the peer address to the incoming
  ``X-Forwarded-For`` instead of replacing it;
- ``use-proxy-protocol``: the load balancer speaks the PROXY protocol: every listener expects
  it and the client address comes from it;
- ``log-format-upstream`` and ``log-format-escape-json`` / ``log-format-escape-none``: the
  access log line.

Off by default, as in ingress-nginx: a client could otherwise claim any address or scheme.

Whatever the options, the backend gets the client's own X-Request-ID (a fresh one only when it
sent none: ``$req_id``), and X-Forwarded-Port names the port the client used as the Service in
front of nginx publishes it (``--published-http-port`` / ``--published-https-port``, 80 and
443), not the container port nginx listens on; on a Gateway API listener's own port, nginx
listens on that port as given, and it is the one named.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.core.settings import GlobalConfig, Settings

LOG_FORMAT_NAME = "upstreaminfo"
_FIRST_ENTRY = '"~^\\s*([^,\\s]+)"'
"""The first entry of a comma-separated list (X-Forwarded-Host), captured as ``$1``."""
_FIRST_HOST = '"~^\\s*(\\[[^]]*\\]|[^,:\\s]+)"'
"""The host of that first entry, without its port (an IPv6 literal keeps its brackets)."""


def scheme_variable(config: GlobalConfig) -> str:
    """The variable holding the scheme the client used (behind a proxy: what it says)."""
    return "$pass_access_scheme" if config.use_forwarded_headers else "$scheme"


def redirect_host_variable(config: GlobalConfig) -> str:
    """The host HTTPS redirects go to: the request's, or behind a proxy the first entry of
    its X-Forwarded-Host without the port (as ingress-nginx redirects)."""
    return "$redirect_host" if config.use_forwarded_headers else "$host"


def header_values(config: GlobalConfig) -> dict[str, str]:
    """Values of the standard headers that depend on these options."""
    scheme = scheme_variable(config)
    values = {"X-Forwarded-Proto": scheme, "X-Forwarded-Scheme": scheme, "X-Scheme": scheme}
    if config.compute_full_forwarded_for:
        values["X-Forwarded-For"] = "$full_x_forwarded_for"
    return values


def http_directives(settings: Settings, listener_ports: Sequence[int] = ()) -> list[Directive]:
    """Maps and real-IP directives for the http block, and the access log format.
    `listener_ports` are Gateway API listeners' own ports, which nginx listens on as given."""
    config = settings.config
    found = [_request_id_map()]
    if config.use_forwarded_headers:
        found += [this_host_map(), _host_map(config), _redirect_host_map()]
        found.append(_passthrough_map("$http_x_forwarded_proto", "$pass_access_scheme", "$scheme"))
        found += _published_port_maps(settings, "$published_port", listener_ports)
        found.append(_passthrough_map("$http_x_forwarded_port", "$pass_server_port",
                                      "$published_port"))  # fmt: skip
    else:
        found.append(_host_map(config))
        found += _published_port_maps(settings, "$pass_server_port", listener_ports)
    if config.compute_full_forwarded_for:
        peer = "$proxy_protocol_addr" if config.use_proxy_protocol else "$realip_remote_addr"
        found.append(block("map", [trusted("$http_x_forwarded_for"),
                                   trusted("$full_x_forwarded_for")], [
            entry(trusted("default"), trusted(f'"$http_x_forwarded_for, {peer}"')),
            entry(trusted('""'), trusted(peer)),
        ]))  # fmt: skip
    found += real_ip_directives(config)
    found.append(log_format(config))
    return found


def real_ip_directives(config: GlobalConfig) -> list[Directive]:
    """Where the client address comes from (none of this unless asked for)."""
    if config.use_proxy_protocol:
        header = trusted("proxy_protocol")
    elif config.use_forwarded_headers or config.enable_real_ip:
        header = literal(config.forwarded_for_header)
    else:
        return []
    found = [directive("real_ip_header", header), directive("real_ip_recursive", trusted("on"))]
    found += [directive("set_real_ip_from", literal(cidr)) for cidr in config.proxy_real_ip_cidr]
    return found


def log_format(config: GlobalConfig) -> Directive:
    """``log_format upstreaminfo [escape=...] "..."``."""
    args: list[Token] = [trusted(LOG_FORMAT_NAME)]
    if config.log_format_escape_json:
        args.append(trusted("escape=json"))
    elif config.log_format_escape_none:
        args.append(trusted("escape=none"))
    args.append(literal(config.log_format_upstream))
    return directive("log_format", *args)


def listen_flags(config: GlobalConfig) -> list[Token]:
    """Extra ``listen`` parameters of the client-facing listeners."""
    return [trusted("proxy_protocol")] if config.use_proxy_protocol else []


def _host_map(config: GlobalConfig) -> Directive:
    """``$best_http_host``: the Host the client sent (its port included), else the server
    name; behind a trusted proxy, the first entry of its X-Forwarded-Host first."""
    if not config.use_forwarded_headers:
        return block("map", [trusted("$http_host"), trusted("$best_http_host")], [
            entry(trusted("default"), trusted("$http_host")),
            entry(trusted('""'), trusted("$host")),
        ])  # fmt: skip
    return block("map", [trusted("$http_x_forwarded_host"), trusted("$best_http_host")], [
        entry(trusted(_FIRST_ENTRY), trusted("$1")),
        entry(trusted("default"), trusted("$this_host")),
    ])  # fmt: skip


def _redirect_host_map() -> Directive:
    """``$redirect_host``: the first X-Forwarded-Host entry less its port, else ``$host``."""
    return block("map", [trusted("$http_x_forwarded_host"), trusted("$redirect_host")], [
        entry(trusted(_FIRST_HOST), trusted("$1")),
        entry(trusted("default"), trusted("$host")),
    ])  # fmt: skip


def _request_id_map() -> Directive:
    """``$req_id``: the client's X-Request-ID when it sent one, else a fresh one (as
    ingress-nginx names it, so log formats written for it work)."""
    return block("map", [trusted("$http_x_request_id"), trusted("$req_id")], [
        entry(trusted("default"), trusted("$http_x_request_id")),
        entry(trusted('""'), trusted("$request_id")),
    ])  # fmt: skip


def _published_port_maps(
    settings: Settings, target: str, listener_ports: Sequence[int]
) -> list[Directive]:
    """`target`: the port the client used, as the Service in front of nginx publishes it
    (``--published-http-port`` / ``--published-https-port``), whatever nginx listens on;
    on a listener's own port (``$server_port``), that port."""
    by_scheme = target if not listener_ports else "$published_scheme_port"
    found = [block("map", [trusted("$scheme"), trusted(by_scheme)], [
        entry(trusted("https"), Token(str(settings.published_https_port))),
        entry(trusted("default"), Token(str(settings.published_http_port))),
    ])]  # fmt: skip
    if listener_ports:
        body = [entry(Token(str(port)), Token(str(port))) for port in listener_ports]
        body.append(entry(trusted("default"), trusted(by_scheme)))
        found.append(block("map", [trusted("$server_port"), trusted(target)], body))
    return found


def this_host_map() -> Directive:
    """``$this_host`` (needed only with use-forwarded-headers)."""
    return block("map", [trusted("$http_host"), trusted("$this_host")], [
        entry(trusted("default"), trusted("$http_host")),
        entry(trusted('""'), trusted("$host")),
    ])  # fmt: skip


def _passthrough_map(source: str, target: str, fallback: str) -> Directive:
    return block("map", [trusted(source), trusted(target)], [
        entry(trusted("default"), trusted(source)),
        entry(trusted('""'), trusted(fallback)),
    ])  # fmt: skip


STANDARD_HEADERS: tuple[tuple[str, str], ...] = (
    ("Host", "$best_http_host"),
    ("Upgrade", "$http_upgrade"),
    ("Connection", "$connection_upgrade"),
    ("X-Request-ID", "$req_id"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$remote_addr"),
    ("X-Forwarded-Host", "$best_http_host"),
    ("X-Forwarded-Port", "$pass_server_port"),
    ("X-Forwarded-Proto", "$scheme"),
    ("X-Forwarded-Scheme", "$scheme"),
    ("X-Scheme", "$scheme"),
    ("X-Original-Forwarded-For", "$http_x_forwarded_for"),
    ("X-Original-Forwarded-Host", "$http_x_forwarded_host"),
    ("Proxy", '""'),
)
"""Headers sent to every backend (ingress-nginx's set), written once at http level."""


def standard_headers(settings: Settings | None) -> tuple[tuple[str, str], ...]:
    """`STANDARD_HEADERS` as the global options change them."""
    if settings is None:
        return STANDARD_HEADERS
    changed = header_values(settings.config)
    return tuple((header, changed.get(header, value)) for header, value in STANDARD_HEADERS)


def header_directives(
    overrides: dict[str, Token], name: str = "proxy_set_header", settings: Settings | None = None
) -> list[Directive]:
    """The standard headers with `overrides` applied (and added), one directive each."""
    values = {header: Token(value) for header, value in standard_headers(settings)}
    values.update(overrides)
    return [directive(name, trusted(header), value) for header, value in values.items()]
