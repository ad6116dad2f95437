"""ssl-passthrough: TLS connections for a host go to its backend untouched, by SNI name.

As in ingress-nginx the feature is off unless the command line enables it
(``--enable-ssl-passthrough``); without that the annotation is a warning. With it, and some
host asking for it, nginx's ``stream`` module takes the HTTPS port:

- the front server on the HTTPS port reads the SNI name of each TLS ClientHello
  (``ssl_preread``) without terminating TLS, and forwards the connection with a PROXY
  protocol header (the client's address) either to the relay (passthrough hosts) or to
  nginx's own HTTPS servers, which then listen on ``127.0.0.1:--ssl-passthrough-proxy-port``
  with ``proxy_protocol`` and take the client's address from it, trusting 127.0.0.1 only;
- the relay (``127.0.0.1:--ssl-passthrough-relay-port``) strips that header and sends the raw
  TLS stream to the host's backend: the ready endpoints of the Service of the host's ``/``
  path (or its DNS name, resolved when a connection comes).

nginx can only send the PROXY header to every upstream of a server or to none; the relay is
there so that nginx's HTTPS servers get the client's address while the backends get the
client's bytes and nothing else. Plain HTTP for the same host is served as usual.

The ``stream`` block is also where stream-snippets go (snippets.py). Debian builds the stream
module as a dynamic module (package libnginx-mod-stream): ``--stream-module PATH`` makes the
output ``load_module`` it, only when there is a ``stream`` block; the official nginx images
have it built in (docs/passthrough.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ingress2nginx.core.actions import ProxyToAddress, ProxyToUpstream
from ingress2nginx.core.codes import Code
from ingress2nginx.core.directives import INDENT, Directive, block, directive
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.quoting import Token, comment, literal, trusted
from ingress2nginx.features.base import Annotation, Hooks, partly
from ingress2nginx.features.dns_upstreams import stream_resolver, stream_servers
from ingress2nginx.features.snippets import stream_lines
from ingress2nginx.features.values import parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.objects import Manifest
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.features import IngressOptions
    from ingress2nginx.model import Config, Passthrough

INTERNAL_ADDRESS = "127.0.0.1"
"""Where nginx's own HTTPS servers and the relay listen when passthrough is on."""
ROUTE_VARIABLE = "$passthrough_route"
BACKEND_VARIABLE = "$passthrough_backend"
_NOTE = (
    "ssl-passthrough: these SNI names go to their backends untouched (through the relay),"
    " other TLS to the HTTPS servers"
)
WHERE = "metadata.annotations[nginx.ingress.kubernetes.io/ssl-passthrough]"


@dataclass(frozen=True, slots=True)
class PassthroughOptions:
    """Whether an Ingress asks for its hosts' TLS connections to be passed through."""

    enabled: bool = False


ANNOTATIONS: tuple[Annotation, ...] = (
    partly(
        "ssl-passthrough",
        "Send TLS connections for the Ingress's hosts to the backend of the host's / path"
        " without terminating TLS (chosen by SNI name); plain HTTP is served as usual.",
        "needs --enable-ssl-passthrough (as ingress-nginx needs its flag) and nginx's stream"
        " module (--stream-module on Debian); connections go to the Service's ready endpoints"
        " (ingress-nginx: its cluster IP); wildcard hosts work too",
        "passthrough.enabled",
        parse_bool,
    ),
)


def admit(
    ingress: Manifest, options: IngressOptions, settings: Settings
) -> tuple[IngressOptions, list[Problem]]:
    """Without ``--enable-ssl-passthrough`` the annotation is refused with a warning."""
    if not options.passthrough.enabled or settings.ssl_passthrough:
        return options, []
    problem = Problem(
        Severity.WARNING,
        ingress.ref,
        WHERE,
        "refused: ssl-passthrough is disabled (see --enable-ssl-passthrough); ignored",
        Code.UNSUPPORTED_ANNOTATION,
    )
    return replace(options, passthrough=PassthroughOptions()), [problem]


# --------------------------------------------------------------------------- normalizing


# --------------------------------------------------------------------------- rendering


def https_listen(settings: Settings, default: bool, http2: bool) -> Token:
    """``listen`` arguments of nginx's own HTTPS servers behind the stream front server."""
    words = [literal(f"{INTERNAL_ADDRESS}:{settings.ssl_passthrough_proxy_port}")]
    if default:
        words.append(trusted("default_server"))
    words += [trusted("ssl"), trusted("proxy_protocol")]
    if http2:
        words.append(trusted("http2"))
    return Token(" ".join(words))


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """Behind the front server, the client's address comes from the PROXY header, which only
    the front server (on 127.0.0.1) is trusted to send. (X-Forwarded-Port is the published
    HTTPS port, as for every HTTPS request: forwarding.py.)"""
    if not settings.ssl_passthrough or not config.passthrough:
        return []
    return [
        directive("set_real_ip_from", literal(INTERNAL_ADDRESS)),
        directive("real_ip_header", trusted("proxy_protocol")),
    ]


def modules(config: Config, settings: Settings) -> list[Token]:
    """``load_module`` paths: the stream module's, from the command line, when needed."""
    if settings.stream_module is None or not (config.passthrough or config.stream_snippets):
        return []
    return [literal(settings.stream_module)]


def stream_block(config: Config, settings: Settings) -> Token | None:
    """The whole ``stream { ... }`` block, laid out; None when the output needs none."""
    if not config.passthrough and not config.stream_snippets:
        return None
    lines = []
    if config.passthrough:
        lines.append(f"{INDENT}# {comment(_NOTE)}")
        body = _passthrough_directives(config, settings)
        lines += [line for item in body for line in item.lines(1)]
    if config.stream_snippets:
        lines += [""] if lines else []
        lines += stream_lines(config.stream_snippets, 1)
    return Token("\n".join(["stream {", *lines, "}"]))


def _passthrough_directives(config: Config, settings: Settings) -> list[Directive]:

    relay = literal(f"{INTERNAL_ADDRESS}:{settings.ssl_passthrough_relay_port}")
    https = literal(f"{INTERNAL_ADDRESS}:{settings.ssl_passthrough_proxy_port}")
    routes = [_entry(trusted("default"), https)]
    backends = []
    for host in config.passthrough:
        for name in host.server_names:
            routes.append(_entry(literal(name), relay))
            backends.append(_entry(literal(name), _backend(host)))
    found = [
        block("map", (trusted("$ssl_preread_server_name"), trusted(ROUTE_VARIABLE)), routes),
        block("map", (trusted("$ssl_preread_server_name"), trusted(BACKEND_VARIABLE)), backends),
    ]
    streams, resolved = _upstreams(config)
    if resolved or any(isinstance(host.target, ProxyToAddress) for host in config.passthrough):
        found += stream_resolver(settings)
    found += streams
    found.append(
        block(
            "server",
            (),
            [
                directive("listen", _front_listen(settings)),
                directive("ssl_preread", trusted("on")),
                directive("proxy_protocol", trusted("on")),
                directive("proxy_pass", trusted(ROUTE_VARIABLE)),
            ],
        )
    )
    found.append(
        block(
            "server",
            (),
            [
                directive("listen", relay, trusted("proxy_protocol")),
                directive("ssl_preread", trusted("on")),
                directive("proxy_pass", trusted(BACKEND_VARIABLE)),
            ],
        )
    )
    return found


def _entry(key: Token, value: Token) -> Directive:
    """``key value;`` inside a ``map``: the key stands where a directive has its name."""
    return Directive(key, (value,))


def _backend(host: Passthrough) -> Token:

    target = host.target
    return literal(target.upstream if isinstance(target, ProxyToUpstream) else target.address)


def _upstreams(config: Config) -> tuple[list[Directive], int]:
    """Stream twins of the http upstreams the passthrough hosts use (same endpoints, or
    resolved by nginx as the http ones are), and how many of them nginx resolves."""

    names = sorted(
        {
            host.target.upstream
            for host in config.passthrough
            if isinstance(host.target, ProxyToUpstream)
        }
    )
    upstreams = {upstream.name: upstream for upstream in config.upstreams}
    resolved = sum(1 for name in names if upstreams[name].resolve is not None)
    blocks = [
        block(
            "upstream",
            (literal(name),),
            stream_servers(upstreams[name], resolved)
            if upstreams[name].resolve is not None
            else [directive("server", literal(str(e))) for e in upstreams[name].endpoints],
        )
        for name in names
    ]
    return blocks, resolved


def _front_listen(settings: Settings) -> Token:
    address = settings.listen_address
    if ":" in address:
        address = f"[{address}]"
    return literal(f"{address}:{settings.https_port}" if address else str(settings.https_port))


HOOKS = Hooks(http=http_directives, admit=admit)
