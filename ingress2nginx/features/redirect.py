"""Redirects and host names: ssl-redirect, force-ssl-redirect, preserve-trailing-slash,
permanent-redirect(-code), temporal-redirect(-code), from-to-www-redirect, server-alias,
upstream-vhost.

The HTTPS redirect is decided per location by routing.py (it depends on the host's
certificate); this module holds the options and the directives of the other redirects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.quoting import Token, expanded
from ingress2nginx.features.base import Annotation, Hooks, supported
from ingress2nginx.features.values import host_and_port, hostnames, integer, parse_bool, url

if TYPE_CHECKING:
    from ingress2nginx.model import Location


@dataclass(frozen=True, slots=True)
class RedirectOptions:
    """Redirects and host naming asked for by one Ingress."""

    ssl_redirect: bool | None = None
    """``ssl-redirect``; None means the global ``ssl-redirect`` (true)."""
    force_ssl_redirect: bool = False
    """``force-ssl-redirect``: redirect to HTTPS even without a certificate."""
    preserve_trailing_slash: bool = False
    """``preserve-trailing-slash``: keep a trailing / in the HTTPS redirect target."""
    permanent: str | None = None
    """``permanent-redirect``: answer every request with a redirect to this URL."""
    permanent_code: int = 301
    temporal: str | None = None
    """``temporal-redirect``: the same with a temporary code; wins over permanent-redirect."""
    temporal_code: int = 302
    from_to_www: bool = False
    """``from-to-www-redirect``: redirect www.host to host, or host to www.host."""
    server_alias: tuple[str, ...] = ()
    """``server-alias``: more names for the Ingress's hosts."""
    upstream_vhost: str | None = None
    """``upstream-vhost``: the Host header sent to the backend."""

    @property
    def redirect(self) -> tuple[int, str] | None:
        """(code, URL) when every request is redirected; temporal wins, as in ingress-nginx."""
        if self.temporal is not None:
            return self.temporal_code, self.temporal
        if self.permanent is not None:
            return self.permanent_code, self.permanent
        return None


ANNOTATIONS: tuple[Annotation, ...] = (
    supported(
        "ssl-redirect",
        "Redirect plain HTTP to HTTPS (308) on hosts with a usable certificate; default from"
        " the global ssl-redirect (true).",
        "redirect.ssl_redirect",
        parse_bool,
    ),
    supported(
        "force-ssl-redirect",
        "Redirect plain HTTP to HTTPS (308) even on hosts without a certificate.",
        "redirect.force_ssl_redirect",
        parse_bool,
    ),
    supported(
        "preserve-trailing-slash",
        "Keep a trailing slash in the HTTPS redirect target (by default it is removed).",
        "redirect.preserve_trailing_slash",
        parse_bool,
    ),
    supported(
        "permanent-redirect",
        "Answer every request of the Ingress's paths with a redirect to this URL.",
        "redirect.permanent",
        url,
    ),
    supported(
        "permanent-redirect-code",
        "Status of permanent-redirect, 300-308 (default 301).",
        "redirect.permanent_code",
        integer(300, 308),
    ),
    supported(
        "temporal-redirect",
        "Answer every request of the Ingress's paths with a temporary redirect to this URL;"
        " wins over permanent-redirect.",
        "redirect.temporal",
        url,
    ),
    supported(
        "temporal-redirect-code",
        "Status of temporal-redirect, 300-307 (default 302).",
        "redirect.temporal_code",
        integer(300, 307),
    ),
    supported(
        "from-to-www-redirect",
        "Redirect www.<host> to <host> (or <host> to www.<host> when the rule names the www"
        " host) with 308, unless another rule serves that name.",
        "redirect.from_to_www",
        parse_bool,
    ),
    supported(
        "server-alias",
        "More host names (comma-separated) served exactly like the Ingress's hosts; names"
        " another rule already serves are ignored with a warning.",
        "redirect.server_alias",
        hostnames,
    ),
    supported(
        "upstream-vhost",
        "The Host header sent to the backend.",
        "redirect.upstream_vhost",
        host_and_port,
    ),
)


def redirect_arguments(code: int, target: str) -> tuple[int, Token]:
    """``return`` arguments for permanent/temporal-redirect (the URL is checked: no ``$``)."""
    return code, expanded(target)


def proxy_headers(location: Location) -> dict[str, Token]:
    """Headers to the backend: Host from upstream-vhost."""
    options = location.options.redirect
    if options.upstream_vhost is not None:
        return {"Host": expanded(options.upstream_vhost)}
    return {}


HOOKS = Hooks(headers=proxy_headers)
