"""Who may reach an Ingress's paths, what is logged, and how nginx writes its own redirects and
TLS handshakes: allowlist/whitelist-source-range, denylist-source-range, satisfy,
enable-access-log, relative-redirects, use-port-in-redirects, ssl-ciphers,
ssl-prefer-server-ciphers.

Source ranges become nginx's ``deny``/``allow`` lines as ingress-nginx writes them: the
denylist first, then the allowlist closed by ``deny all`` — a client refused either way gets
403. A source range that is not a list of IPs and CIDRs denies the Ingress's paths (503 for
every client, secured.py), as in ingress-nginx: ignoring it would open the paths to all.

ssl-ciphers and ssl-prefer-server-ciphers act on the whole host (its ``server`` block): when
several Ingresses with rules for a TLS host set one, the oldest Ingress wins, as in
ingress-nginx (routing.py keeps each host's Ingress options oldest first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.features.base import Annotation, Hooks, Invalid, OnInvalid, partly, supported
from ingress2nginx.features.secured import Lookup, field_names
from ingress2nginx.features.values import choice, cidrs, cipher_list, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location, Server

T = TypeVar("T")

"""ingress-nginx's cipher list syntax (OpenSSL names, ``!``, ``+``, ``:``, ``@STRENGTH``,
``@SECLEVEL=n``), without the spaces it strips before checking."""


@dataclass(frozen=True, slots=True)
class AccessOptions:
    """Access control, logging and redirect style asked for by one Ingress."""

    allowlist: tuple[str, ...] | Invalid | None = None
    """``allowlist-source-range``: only these CIDRs may connect."""
    whitelist: tuple[str, ...] | Invalid | None = None
    """``whitelist-source-range``, its older name; allowlist-source-range wins when both."""
    denylist: tuple[str, ...] | Invalid = ()
    """``denylist-source-range``: these CIDRs get 403."""
    satisfy: str | None = None
    """``satisfy``: ``any`` or ``all`` access checks (source range, authentication)."""
    access_log: bool = True
    """``enable-access-log``."""
    relative_redirects: bool = False
    """``relative-redirects``: nginx's own redirects carry a relative Location."""
    use_port_in_redirects: bool | None = None
    """``use-port-in-redirects``; None: no port in the HTTPS redirect, nginx's default
    (``port_in_redirect on``) for the redirects it issues itself."""
    ssl_ciphers: str | None = None
    """``ssl-ciphers`` for the host's TLS handshakes (server level)."""
    ssl_prefer_server_ciphers: bool | None = None
    """``ssl-prefer-server-ciphers`` (server level)."""
    denied: str | None = None
    """Why the Ingress's paths are denied: a source range that is not one (see `resolve`)."""

    @property
    def source_ranges(self) -> tuple[str, ...]:
        """The allowed ranges (empty: everyone), allowlist-source-range winning."""
        if isinstance(self.allowlist, tuple):
            return self.allowlist
        return self.whitelist if isinstance(self.whitelist, tuple) else ()

    @property
    def denied_ranges(self) -> tuple[str, ...]:
        """The refused ranges (empty: nobody)."""
        return self.denylist if isinstance(self.denylist, tuple) else ()


_RANGES = "Comma-separated IPs or CIDRs"

ANNOTATIONS: tuple[Annotation, ...] = (
    supported("allowlist-source-range", f"{_RANGES} allowed to reach the Ingress's paths;"
              " anyone else gets 403.", "access.allowlist", cidrs, OnInvalid.DENY),
    supported("whitelist-source-range", "Older name of allowlist-source-range (which wins"
              " when both are set).", "access.whitelist", cidrs, OnInvalid.DENY),
    supported("denylist-source-range", f"{_RANGES} refused (403) on the Ingress's paths;"
              " checked before the allowlist.", "access.denylist", cidrs, OnInvalid.DENY),
    supported("satisfy", "Whether any or all access checks (source ranges, authentication)"
              " must pass: any or all (nginx's default: all).", "access.satisfy",
              choice("any", "all")),
    supported("enable-access-log", "Log requests of the Ingress's paths (default true;"
              " false: access_log off).", "access.access_log", parse_bool),
    supported("relative-redirects", "Redirects nginx issues itself carry a relative"
              " Location (absolute_redirect off).", "access.relative_redirects", parse_bool),
    partly("use-port-in-redirects", "Name the port in the HTTPS redirect (--published-https-port)"
           " and in redirects nginx issues itself (port_in_redirect).",
           "unset, a redirect nginx issues itself (permanent-redirect to a path) names a port"
           " other than 80/443, where ingress-nginx leaves it out; the HTTPS redirect leaves it"
           " out as ingress-nginx does", "access.use_port_in_redirects", parse_bool),
    supported("ssl-ciphers", "OpenSSL cipher list for the host's TLS handshakes (ssl_ciphers"
              " in its server; the oldest Ingress of the host setting it wins).",
              "access.ssl_ciphers", cipher_list),
    supported("ssl-prefer-server-ciphers", "Prefer the server's cipher order (server level;"
              " the oldest Ingress of the host setting it wins).",
              "access.ssl_prefer_server_ciphers", parse_bool),
)  # fmt: skip


_NAMES = field_names(ANNOTATIONS)
_RANGE_FIELDS = ("allowlist", "whitelist", "denylist")


def resolve(lookup: Lookup, options: AccessOptions) -> AccessOptions:
    """The options, denied when a source range is invalid (reported, every invalid one)."""
    if not any(isinstance(getattr(options, name), Invalid) for name in _RANGE_FIELDS):
        return options
    return replace(options, denied=lookup.invalid(options, _NAMES))


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """deny/allow lines and satisfy, then how nginx logs and writes its own redirects."""
    options = location.options.access
    found = [directive("deny", literal(cidr)) for cidr in options.denied_ranges]
    if options.source_ranges:
        found += [directive("allow", literal(cidr)) for cidr in options.source_ranges]
        found.append(directive("deny", trusted("all")))
    if options.satisfy is not None:
        found.append(directive("satisfy", trusted(options.satisfy)))
    return found + answer_directives(location, settings)


def answer_directives(location: Location, settings: Settings) -> list[Directive]:
    """access_log, absolute_redirect, port_in_redirect: also where nginx answers itself
    (permanent-redirect to a path is where relative-redirects shows). Source ranges are left
    out there: a ``return`` answers before nginx checks them, in ingress-nginx too."""
    options = location.options.access
    found = []
    if not options.access_log:
        found.append(directive("access_log", trusted("off")))
    if options.relative_redirects:
        found.append(directive("absolute_redirect", trusted("off")))
    if options.use_port_in_redirects is not None:
        found.append(directive("port_in_redirect", _on_off(options.use_port_in_redirects)))
    return found


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """ssl_ciphers and ssl_prefer_server_ciphers of a TLS host: the oldest Ingress wins each."""
    if server.tls is None:
        return []
    found = []
    ciphers = _oldest(server, lambda options: options.ssl_ciphers)
    if ciphers is not None:
        found.append(directive("ssl_ciphers", literal(ciphers)))
    prefer = _oldest(server, lambda options: options.ssl_prefer_server_ciphers)
    if prefer is not None:
        found.append(directive("ssl_prefer_server_ciphers", _on_off(prefer)))
    return found


def _oldest(server: Server, pick: Callable[[AccessOptions], T | None]) -> T | None:
    """The value the oldest Ingress of `server` that sets one gives; None if none does."""
    for options in server.ingress_options:
        value = pick(options.access)
        if value is not None:
            return value
    return None


def _on_off(value: bool) -> Token:
    return trusted("on" if value else "off")


HOOKS = Hooks(location=location_directives, answer=answer_directives, server=server_directives)
