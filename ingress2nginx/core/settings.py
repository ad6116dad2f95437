"""Settings shared by every command: ports, directories, class selection, DNS, global config.

One frozen record built from the command line (cli.py) and passed down the pipeline, so the
normalizing and rendering stages never read globals or the environment. `GlobalConfig` holds
what ingress-nginx users set in the controller's ConfigMap (``--config FILE``, see
configuring.py); its field defaults are ingress-nginx's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INGRESS_CLASS = "nginx"
DEFAULT_GATEWAY_CLASS = "nginx"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
FALLBACK_CERT_DIR = Path("/var/lib/ingress2nginx/certs")
"""Where certificates go when neither --cert-dir nor --runtime-dir is given."""

HTTP2_DIRECTIVE_SINCE = (1, 25, 1)
"""nginx 1.25.1 replaced ``listen ... http2`` by the ``http2 on;`` directive."""
DEFAULT_NGINX_VERSION = (1, 22, 0)
"""The syntax written without ``--nginx-version``: Debian stable's, read by every later nginx."""
RESOLVE_IN_UPSTREAMS_SINCE = (1, 27, 3)
"""nginx 1.27.3 brought ``server ... resolve`` (and ``service=``) to open-source upstreams."""

DEFAULT_LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'
    ' "$http_referer" "$http_user_agent" $request_length $request_time $upstream_addr'
    " $upstream_response_length $upstream_response_time $upstream_status $req_id"
)
"""ingress-nginx's upstreaminfo format, less the Lua-only upstream names."""

GZIP_TYPES: tuple[str, ...] = (
    "application/atom+xml",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "application/rss+xml",
    "application/vnd.ms-fontobject",
    "application/x-font-ttf",
    "application/x-web-app-manifest+json",
    "application/xhtml+xml",
    "application/xml",
    "font/opentype",
    "image/svg+xml",
    "image/x-icon",
    "text/css",
    "text/javascript",
    "text/plain",
    "text/x-component",
)
"""ingress-nginx's ``gzip-types`` (text/html is always compressed)."""

ACME_CHALLENGE_PATH = "/.well-known/acme-challenge"

INGRESS_NGINX_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
)


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    """Controller-wide options, named as in ingress-nginx's ConfigMap."""

    ssl_redirect: bool = True
    """``ssl-redirect``: plain HTTP on a TLS host answers 308 to HTTPS."""
    hsts: bool = True
    """``hsts``: send Strict-Transport-Security on HTTPS responses of TLS hosts."""
    hsts_max_age: int = 31536000
    """``hsts-max-age`` in seconds."""
    hsts_include_subdomains: bool = True
    """``hsts-include-subdomains``."""
    hsts_preload: bool = False
    """``hsts-preload``."""
    ssl_protocols: tuple[str, ...] = ("TLSv1.2", "TLSv1.3")
    """``ssl-protocols``."""
    ssl_ciphers: str = INGRESS_NGINX_CIPHERS
    """``ssl-ciphers``, OpenSSL syntax."""
    ssl_session_cache_size: str = "10m"
    """``ssl-session-cache-size``."""
    ssl_session_timeout: str = "10m"
    """``ssl-session-timeout``."""
    proxy_body_size: str = "1m"
    """``proxy-body-size``: client_max_body_size."""
    proxy_connect_timeout: int = 5
    """``proxy-connect-timeout`` in seconds."""
    proxy_send_timeout: int = 60
    proxy_read_timeout: int = 60
    proxy_buffering: str = "off"
    proxy_buffer_size: str = "4k"
    proxy_buffers_number: int = 4
    proxy_request_buffering: str = "on"
    client_body_buffer_size: str = "8k"
    proxy_http_version: str = "1.1"
    proxy_next_upstream: tuple[str, ...] = ("error", "timeout")
    proxy_next_upstream_tries: int = 3
    proxy_next_upstream_timeout: int = 0
    upstream_keepalive_connections: int = 32
    """``upstream-keepalive-connections``: idle connections each worker keeps per upstream
    (0: none). ingress-nginx's 320 is for its one Lua upstream; here every Service port is an
    upstream and nginx reserves room for the whole cache of each (about 150 bytes a
    connection, per worker), so 320 would cost 0.8 GB per worker at 16,000 upstreams."""
    load_balance: str = "round_robin"
    """``load-balance``: round_robin or least_conn, for upstreams no Ingress asks otherwise."""
    keep_alive: int = 75
    """``keep-alive``: client keepalive timeout in seconds."""
    server_tokens: bool = False
    """``server-tokens``: show the nginx version in headers and error pages."""
    worker_processes: str = "auto"
    """``worker-processes``: a number or auto."""
    max_worker_connections: int = 16384
    """``max-worker-connections``."""
    error_log_level: str = "notice"
    """``error-log-level``."""
    disable_access_log: bool = False
    """``disable-access-log``."""
    use_forwarded_headers: bool = False
    """``use-forwarded-headers``: trust X-Forwarded-* from peers in proxy-real-ip-cidr."""
    forwarded_for_header: str = "X-Forwarded-For"
    """``forwarded-for-header``: the header holding the client address."""
    compute_full_forwarded_for: bool = False
    """``compute-full-forwarded-for``: append the peer to X-Forwarded-For."""
    enable_real_ip: bool = False
    """``enable-real-ip``: the client address from forwarded-for-header."""
    proxy_real_ip_cidr: tuple[str, ...] = ("0.0.0.0/0",)
    """``proxy-real-ip-cidr``: peers trusted to tell the client address."""
    use_proxy_protocol: bool = False
    """``use-proxy-protocol``: every listener expects the PROXY protocol."""
    log_format_upstream: str = DEFAULT_LOG_FORMAT
    """``log-format-upstream``: the access log line (nginx variables)."""
    log_format_escape_json: bool = False
    """``log-format-escape-json``."""
    log_format_escape_none: bool = False
    """``log-format-escape-none``."""
    limit_req_status_code: int = 503
    """``limit-req-status-code``: status of requests refused by limit-rps/-rpm."""
    limit_conn_status_code: int = 503
    """``limit-conn-status-code``: status of requests refused by limit-connections."""
    use_gzip: bool = False
    """``use-gzip``: compress responses of `gzip_types` (compressing.py)."""
    gzip_level: int = 1
    """``gzip-level``: 1 (fastest) to 9."""
    gzip_min_length: int = 256
    """``gzip-min-length``: smaller responses are sent as they are, in bytes."""
    gzip_types: tuple[str, ...] = GZIP_TYPES
    """``gzip-types``: MIME types compressed besides text/html; ``*`` for all."""
    gzip_disable: str = ""
    """``gzip-disable``: a regular expression (case-insensitive) of User-Agents never sent
    compressed answers, or nginx's mask ``msie6``; empty for none."""
    no_auth_locations: tuple[str, ...] = (ACME_CHALLENGE_PATH,)
    """``no-auth-locations``: Ingress paths starting with one of these ask for no
    authentication (auth-url, auth-type basic), as in ingress-nginx."""
    allow_cross_namespace_resources: bool = False
    """``allow-cross-namespace-resources``: annotations may name Secrets of other namespaces
    (auth-secret, proxy-ssl-secret, auth-tls-secret)."""

    @property
    def hsts_header(self) -> str:
        """The Strict-Transport-Security value these options give."""
        value = f"max-age={self.hsts_max_age}"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return value


@dataclass(frozen=True, slots=True)
class Settings:
    """How to translate and where the output will run."""

    ingress_class: str = DEFAULT_INGRESS_CLASS
    """The IngressClass name this translator serves (``--ingress-class``)."""
    watch_ingress_without_class: bool = False
    """Serve Ingresses that name no class at all (``--watch-ingress-without-class``)."""
    gateway_class: str = DEFAULT_GATEWAY_CLASS
    """A GatewayClass name whose Gateways are served whatever its controllerName
    (``--gateway-class``; docs/gateway-api.md)."""
    http_port: int = 80
    https_port: int = 443
    published_http_port: int = 80
    """The port clients use for plain HTTP, as the Service in front of nginx publishes it
    (``--published-http-port``): what X-Forwarded-Port says, whatever `http_port` is."""
    published_https_port: int = 443
    """The port clients use for HTTPS (``--published-https-port``): X-Forwarded-Port on
    HTTPS, and the port of HTTPS redirects that name one (use-port-in-redirects)."""
    listen_address: str = ""
    """Address nginx listens on; empty means every address (``--listen-address``)."""
    runtime_dir: Path | None = None
    """Where the pid file and nginx's temp paths go; None keeps nginx's compiled-in paths."""
    cert_dir: Path = FALLBACK_CERT_DIR
    """Where certificate and auth files are written (mode 0600, folder 0700)."""
    template_dir: Path | None = None
    """Templates overriding the bundled ones (``--template-dir``)."""
    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN
    resolver: tuple[str, ...] = ()
    """DNS servers nginx uses to resolve Service names at request time."""
    nginx_version: tuple[int, int, int] = DEFAULT_NGINX_VERSION
    """The nginx the output is for: syntax (``http2``), and from 1.27.3 upstreams nginx
    resolves at run time (``server ... resolve``)."""
    endpoints: str = "static"
    """``static``: upstreams list the ready endpoints; ``dns``: nginx resolves them from the
    sidecar's DNS responder (``--endpoints``, dns_upstreams.py); never ``auto`` here."""
    dns_listen: str = "127.0.0.1:5353"
    """dns mode: where the responder listens, nginx's ``resolver`` (``--dns-listen``)."""
    dns_unavailable_port: int = 5354
    """dns mode: the loopback port of the nginx server answering 503 for a Service port
    with no endpoint (``--dns-unavailable-port``)."""
    allow_snippet_annotations: bool = False
    """Honour snippet annotations (``--allow-snippet-annotations``), only in
    `snippet_namespaces` (docs/snippets.md)."""
    snippet_namespaces: tuple[str, ...] = ()
    """Namespaces whose Ingresses may use snippets (``--snippet-namespace``, repeatable)."""
    ssl_passthrough: bool = False
    """Honour the ssl-passthrough annotation (``--enable-ssl-passthrough``): TLS on the HTTPS
    port is then routed by SNI in nginx's stream module (annotations/passthrough.py)."""
    ssl_passthrough_proxy_port: int = 442
    """With passthrough, nginx's own HTTPS servers listen on 127.0.0.1 at this port."""
    ssl_passthrough_relay_port: int = 441
    """With passthrough, the relay to passthrough backends listens on 127.0.0.1 here."""
    stream_module: str | None = None
    """``load_module`` path of the stream module (``--stream-module``), written only when the
    output has a ``stream`` block; None where nginx has it built in."""
    config: GlobalConfig = field(default_factory=GlobalConfig)
    """ingress-nginx ConfigMap options (``--config FILE``)."""
    nginx_user: tuple[str, str] | None = None
    """(user, group) of the ``user`` directive (``--nginx-user``); None writes none."""
    worker_group: int | None = None
    """Group id given the files nginx's workers read at each request (htpasswd, mode 0640);
    None leaves them 0600 and ours (workers.py)."""
    status_port: int | None = None
    """Watch mode only: the loopback port where nginx answers which config it runs (see
    reloading.py); None (every other command) leaves that server out of the output."""

    @property
    def resolves_upstreams(self) -> bool:
        """Whether nginx can resolve upstream servers at run time (``resolve``, 1.27.3)."""
        return self.nginx_version >= RESOLVE_IN_UPSTREAMS_SINCE

    @property
    def http2_directive(self) -> bool:
        """Whether HTTP/2 is enabled with ``http2 on;`` rather than on the ``listen`` line."""
        return self.nginx_version >= HTTP2_DIRECTIVE_SINCE
