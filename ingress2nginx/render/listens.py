"""The ``listen`` lines of a server: which ports nginx answers a host on, and how.

An Ingress host's server listens on ``--http-port`` and, when the config serves HTTPS at
all, on ``--https-port`` (behind the stream front server on loopback with ssl-passthrough).
A Gateway API host's server listens only where the listeners its routes attach to are
(listener isolation, normalize/gateway/listening.py): ``--http-port``, ``--https-port``, or
a listener's own port as given, with ``ssl`` for HTTPS.
"""

from __future__ import annotations

from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import forwarding
from ingress2nginx.features.passthrough import https_listen as passthrough_listen
from ingress2nginx.model import Server


def listened(server: Server, https: bool) -> bool:
    """Whether nginx listens anywhere for `server` (`https`: on --https-port); a server
    answering HTTPS on --https-port only is left out of a config that does not listen there."""
    return server.port is not None or server.listens_http or (https and server.listens_https)


def server_listens(
    server: Server, settings: Settings, https: bool, passthrough: bool
) -> list[Token]:
    """The server's ``listen`` lines: its own port (with ``ssl`` for HTTPS), else
    --http-port and --https-port, each when the server answers there."""
    if server.port is not None:
        return [_listen(settings, server.port, server.default, https=server.listens_https)]
    found = []
    if server.listens_http:
        found.append(_listen(settings, settings.http_port, server.default))
    if https and server.listens_https:
        found.append(_https_listen(settings, server.default, passthrough))
    return found


def _https_listen(settings: Settings, default: bool, passthrough: bool) -> Token:
    """The HTTPS ``listen``: behind the stream front server on loopback with ssl-passthrough."""
    if passthrough:
        return passthrough_listen(settings, default, http2=not settings.http2_directive)
    return _listen(settings, settings.https_port, default, https=True)


_DEFAULT_SERVER, _SSL, _HTTP2 = trusted("default_server"), trusted("ssl"), trusted("http2")
"""The ``listen`` flags, made once (every server has one or two ``listen`` lines)."""


def _listen(settings: Settings, port: int, default: bool, https: bool = False) -> Token:
    """A ``listen`` line's arguments: address:port, then default_server, ssl, http2."""
    address = settings.listen_address
    if ":" in address:
        address = f"[{address}]"
    words = [literal(f"{address}:{port}" if address else str(port))]
    if default:
        words.append(_DEFAULT_SERVER)
    words += forwarding.listen_flags(settings.config)
    if https:
        words.append(_SSL)
        if not settings.http2_directive:
            words.append(_HTTP2)
    return Token(" ".join(words))
