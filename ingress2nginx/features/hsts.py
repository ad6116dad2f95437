"""HSTS: the Strict-Transport-Security header, defined once for every place that writes it.

ingress-nginx sends HSTS (the ``hsts*`` options of --config) on HTTPS responses of hosts with
a certificate of their own, not on those the default certificate answers. The header's value
is a map on ``$scheme`` in the http block (main template), so a plain-HTTP answer carries
none. A TLS server writes the `HSTS_HEADER` line (render/rendering.py); nginx forgets a
server's ``add_header`` in a location adding its own, so such locations repeat it
(render/views.py), as do the named locations of external authentication (external_auth.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingress2nginx.core.directives import directive
from ingress2nginx.core.quoting import trusted
from ingress2nginx.core.secret_files import DEFAULT_CERTIFICATE
from ingress2nginx.core.settings import Settings

if TYPE_CHECKING:
    from ingress2nginx.model import Server

HSTS_HEADER = directive(
    "add_header", trusted("Strict-Transport-Security"), trusted("$hsts_header"), trusted("always")
)
"""The HSTS line of a TLS server."""


def own_certificate(server: Server) -> bool:
    """Whether the server presents a certificate of its own (not the default one)."""
    return server.tls is not None and server.tls.certificate != DEFAULT_CERTIFICATE


def writes_hsts(server: Server, settings: Settings) -> bool:
    """Whether the server sends the HSTS header."""
    return own_certificate(server) and settings.config.hsts
