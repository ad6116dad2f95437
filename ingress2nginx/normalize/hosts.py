"""What a host gathers from the Ingresses with rules for it, and the names its server answers.

Besides its paths (routing.py's claims), an Ingress with a rule for a host brings host-wide
things, the oldest Ingress winning each: the host's default backend (its
``spec.defaultBackend``), ``app-root``, ``from-to-www-redirect`` and ``server-alias`` names.
A host's ``server_name`` is the host itself, a regex for a wildcard (``*.foo.com`` matches
exactly one label, as Kubernetes says; nginx's own ``*.foo.com`` would match several) or
``_`` for the catch-all; an alias another rule already serves is reported and left out, and
from-to-www-redirect adds a server for the other name that redirects to the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import PREFIX, IngressOptions
from ingress2nginx.model import Action, Location, Match, Origin, Redirect, Server
from ingress2nginx.normalize.certificates import covers
from ingress2nginx.normalize.locations import Claim
from ingress2nginx.normalize.securing import HostTLS

CATCH_ALL = ""
"""The host key of rules without a host."""
WWW_REDIRECT_STATUS = 308

ClaimKey = tuple[Match, str]
"""(form, path): two paths with one key serve exactly the same requests."""


@dataclass(slots=True)
class Host:
    """Everything claimed on one host while the Ingresses are visited."""

    claims: dict[ClaimKey, Claim] = field(default_factory=dict)
    default: tuple[Action, Origin] | None = None
    """The host's own default backend, from the oldest Ingress with rules here and one."""
    aliases: list[tuple[str, Origin]] = field(default_factory=list)
    """server-alias names asked for by Ingresses with rules here."""
    app_root: str | None = None
    www_redirect: Origin | None = None
    """The Ingress asking for from-to-www-redirect on this host."""
    options: dict[IngressOptions, None] = field(default_factory=dict)
    """The options of the Ingresses with rules here, oldest first (an ordered set)."""

    def take(
        self,
        ingress: Manifest,
        options: IngressOptions,
        default: tuple[Action, Origin] | None,
        where: str,
    ) -> None:
        """Host-wide things an Ingress with a rule for the host brings (oldest wins each)."""
        if default is not None and self.default is None:
            self.default = default
        redirect = options.redirect
        if redirect.server_alias or redirect.from_to_www:  # (an Origin costs; most ask neither)
            origin = Origin(ingress.namespace, ingress.name, where)
            self.aliases.extend((alias, origin) for alias in redirect.server_alias)
            if redirect.from_to_www and self.www_redirect is None:
                self.www_redirect = origin
        if self.app_root is None:
            self.app_root = options.rewrite.app_root
        self.options.setdefault(options)


def server_names(host: str) -> tuple[str, ...]:
    """``server_name`` arguments for an Ingress host (already validated)."""
    if host == CATCH_ALL:
        return ("_",)
    if host.startswith("*."):
        suffix = host[2:].replace(".", r"\.")
        return (rf"~^[^.]+\.{suffix}$",)
    return (host,)


def aliases(host: Host, taken: set[str], problems: list[Problem]) -> tuple[str, ...]:
    """The ``server_name`` arguments of the host's server-alias names no other server takes
    (each taken from then on); the others reported."""
    found: list[str] = []
    for alias, origin in host.aliases:
        if alias in taken:
            reason = f"server-alias {alias} is already served by another rule; ignored"
            where = f"metadata.annotations[{PREFIX}server-alias]"
            problems.append(Problem(Severity.WARNING, _ref(origin), where, reason, Code.CONFLICT))
            continue
        taken.add(alias)
        found.extend(server_names(alias))
    return tuple(found)


def www_redirects(
    hosts: Mapping[str, Host], tls: Mapping[str, HostTLS], taken: set[str]
) -> list[Server]:
    """from-to-www-redirect: a server for the other name of a host, redirecting to it, with
    the host's certificate when it covers that name."""
    servers = []
    for name in sorted(hosts):
        host = hosts[name]
        if host.www_redirect is None or name.startswith("*."):
            continue
        other = name[4:] if name.startswith("www.") else f"www.{name}"
        if other in taken:
            continue
        taken.add(other)
        host_tls = tls.get(name)
        usable = host_tls.usable if host_tls is not None and covers(host_tls.names, other) else None
        action = Redirect(WWW_REDIRECT_STATUS, name, keep_uri=True)
        location = Location(Match.PREFIX, "/", action, host.www_redirect)
        servers.append(Server(other, (other,), False, (location,), usable))
    return servers


def _ref(origin: Origin) -> ObjectRef:
    return ObjectRef("Ingress", origin.namespace, origin.name)
