"""Ingress rules into servers and locations, with Kubernetes' matching semantics (SPEC §4).

Paths. nginx picks an exact ``location =`` first, then the longest plain prefix. An Ingress
Prefix path matches element-wise (``/foo`` matches ``/foo`` and ``/foo/x``, never ``/foobar``),
so ``Prefix /foo`` becomes two locations: ``= /foo`` and ``/foo/``. A prefix ending in ``/``
cannot match across an element boundary, and the exact twin means nginx never sends its
automatic 301 from ``/foo`` to ``/foo/``. With every Prefix expressed this way, nginx's own
choice *is* the Ingress rule: the longest matching path wins, and on a tie (``Exact /foo``
beside ``Prefix /foo``) the exact location wins. ImplementationSpecific paths behave as Prefix.

Hosts. A precise host is an exact ``server_name``, a wildcard ``*.foo.com`` a regex matching
exactly one label (nginx's own ``*.foo.com`` would match several), and nginx prefers exact
names to regexes as Kubernetes prefers precise hosts to wildcards. Rules without a host go to
the catch-all ``default_server``.

Claims. Ingresses are visited oldest first (creationTimestamp, then namespace/name); the first
to claim a host + path + type keeps it and every later claim is reported as a conflict.

Default backends. A request matching no path of its host goes to that host's default backend:
the ``spec.defaultBackend`` of the oldest Ingress with rules for the host and a default
backend, else the global default backend, else a 404 from nginx. The global default backend,
which also answers hosts no rule names, is the ``spec.defaultBackend`` of the oldest Ingress
without rules, or failing that the oldest Ingress with one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ingress2nginx.annotations import IngressOptions
from ingress2nginx.backends import Backends
from ingress2nginx.certificates import DEFAULT_CERTIFICATE, Certificates, covers
from ingress2nginx.errors import Problem, Severity
from ingress2nginx.model import (
    Action,
    CertificateFile,
    Location,
    Match,
    Origin,
    PathType,
    Respond,
    Route,
    Server,
    ServerTLS,
)
from ingress2nginx.objects import Manifest
from ingress2nginx.settings import GlobalConfig
from ingress2nginx.validating import location_path

NOT_FOUND = Respond(404, "no rule matches and there is no default backend")
CATCH_ALL = ""
"""The host key of rules without a host."""

ACME_CHALLENGE = "/.well-known/acme-challenge"
"""Paths under it are never redirected to HTTPS, so ACME HTTP-01 challenges keep working."""

ClaimKey = tuple[Match, str]
"""(location form, normalized path): two paths with one key serve exactly the same requests."""


@dataclass(frozen=True, slots=True)
class Claim:
    """An Ingress path that won its host + path + type."""

    path_type: PathType
    path: str
    """The normalized path nginx compares (decoded; no trailing / for Prefix except ``/``)."""
    action: Action
    origin: Origin
    backend: str
    options: IngressOptions


@dataclass(slots=True)
class Host:
    """Everything claimed on one host while the Ingresses are visited."""

    claims: dict[ClaimKey, Claim] = field(default_factory=dict)
    default: tuple[Action, Origin] | None = None
    """The host's own default backend, from the oldest Ingress with rules here and one."""
    tls: ServerTLS | None = None
    """The host's usable certificate, from the oldest Ingress with a TLS entry for it."""
    tls_claimed_by: tuple[str, Origin] | None = None
    """(secret name, origin) of the TLS entry that won the host, usable or not."""


@dataclass(slots=True)
class Router:
    """Collects claims from Ingresses (oldest first) and lays them out as servers."""

    backends: Backends
    certificates: Certificates
    config: GlobalConfig
    problems: list[Problem]
    hosts: dict[str, Host] = field(default_factory=lambda: {CATCH_ALL: Host()})
    global_default: tuple[Action, Origin, bool] | None = None
    """(action, origin, from an Ingress without rules)."""
    certificate_files: dict[str, CertificateFile] = field(default_factory=dict)
    https: bool = False
    """Some served Ingress has a TLS section or forces HTTPS, so nginx listens for HTTPS."""

    def add(self, ingress: Manifest, options: IngressOptions) -> None:
        """Claim the paths and TLS hosts of one validated, served Ingress."""
        spec: Mapping[str, Any] = ingress.body["spec"]
        rules = spec.get("rules") or []
        default = self._default_backend(ingress, spec)
        for index, rule in enumerate(rules):
            host = self.hosts.setdefault(rule.get("host") or CATCH_ALL, Host())
            if default is not None and host.default is None and rule.get("host"):
                host.default = default
            http = rule.get("http") or {}
            for path_index, path in enumerate(http.get("paths") or []):
                where = f"spec.rules[{index}].http.paths[{path_index}]"
                self._claim(ingress, host, rule.get("host") or CATCH_ALL, path, where, options)
        rule_hosts = [rule["host"] for rule in rules if rule.get("host")]
        for index, entry in enumerate(spec.get("tls") or []):
            self._tls(ingress, entry, f"spec.tls[{index}]", rule_hosts)
        self.https = self.https or bool(spec.get("tls")) or options.force_ssl_redirect

    def servers(self) -> tuple[Server, ...]:
        """Every server, the catch-all first, then by host."""
        return tuple(self._server(name) for name in sorted(self.hosts))

    def routes(self) -> tuple[Route, ...]:
        """Every winning claim, by host then path, for ``explain``."""
        return tuple(
            Route(name, claim.path, claim.path_type, claim.backend, claim.origin)
            for name in sorted(self.hosts)
            for claim in sorted(
                self.hosts[name].claims.values(), key=lambda c: (c.path, c.path_type)
            )
        )

    def _default_backend(
        self, ingress: Manifest, spec: Mapping[str, Any]
    ) -> tuple[Action, Origin] | None:
        backend = spec.get("defaultBackend")
        if backend is None:
            return None
        field_path = "spec.defaultBackend"
        action = self.backends.resolve(ingress, backend["service"], field_path, self.problems)
        origin = Origin(ingress.namespace, ingress.name, field_path)
        without_rules = not spec.get("rules")
        current = self.global_default
        if current is None or (without_rules and not current[2]):
            self.global_default = (action, origin, without_rules)
        elif without_rules:
            self._conflict(ingress, field_path, f"the default backend is already {current[1]}")
        return action, origin

    def _tls(
        self, ingress: Manifest, entry: Mapping[str, Any], where: str, rule_hosts: list[str]
    ) -> None:
        """Give a TLS entry's hosts their certificate; the oldest Ingress per host wins."""
        secret = entry.get("secretName") or ""
        listed = entry.get("hosts") or []
        for host_name in listed:
            if host_name not in rule_hosts:
                reason = f"TLS host {host_name} has no rule in this Ingress; ignored"
                self.problems.append(Problem(Severity.INFO, ingress.ref, where, reason, "tls-host"))
        if listed:
            targets = [host for host in listed if host in rule_hosts]
        else:
            targets = [host for host in rule_hosts if self._secret_covers(ingress, secret, host)]
        for host_name in targets:
            self._assign_certificate(ingress, self.hosts[host_name], host_name, secret, where)

    def _secret_covers(self, ingress: Manifest, secret: str, host: str) -> bool:
        parsed = self.certificates.lookup(ingress.namespace, secret) if secret else None
        return parsed is not None and not isinstance(parsed, str) and covers(parsed.names, host)

    def _assign_certificate(
        self, ingress: Manifest, host: Host, host_name: str, secret: str, where: str
    ) -> None:
        origin = Origin(ingress.namespace, ingress.name, where)
        if host.tls_claimed_by is not None:
            if host.tls_claimed_by[0] != f"{ingress.namespace}/{secret}":
                reason = f"TLS for host {host_name} is already set by {host.tls_claimed_by[1]}"
                self._conflict(ingress, where, reason)
            return
        host.tls_claimed_by = (f"{ingress.namespace}/{secret}", origin)
        if not secret:
            host.tls = ServerTLS(DEFAULT_CERTIFICATE, origin)
            return
        parsed = self.certificates.lookup(ingress.namespace, secret)
        label = f"{ingress.namespace}/{secret}"
        if isinstance(parsed, str):
            trouble = parsed
        elif not covers(parsed.names, host_name):
            trouble = "its certificate does not cover this host"
        else:
            if parsed.expired:
                reason = f"the certificate of secret {label} has expired"
                self.problems.append(
                    Problem(Severity.WARNING, ingress.ref, f"{where}.secretName", reason, "tls")
                )
            self.certificate_files[parsed.file.name] = parsed.file
            host.tls = ServerTLS(parsed.file.name, origin)
            return
        reason = f"secret {label}: {trouble}; host {host_name} uses the default certificate"
        self.problems.append(
            Problem(Severity.WARNING, ingress.ref, f"{where}.secretName", reason, "tls")
        )

    def _claim(
        self,
        ingress: Manifest,
        host: Host,
        host_name: str,
        path: Mapping[str, Any],
        where: str,
        options: IngressOptions,
    ) -> None:
        path_type = PathType(path["pathType"])
        normalized = _normalize(path.get("path") or "/", path_type)
        key = (Match.EXACT if path_type is PathType.EXACT else Match.PREFIX, normalized)
        taken = host.claims.get(key)
        if taken is not None:
            shown_host = host_name or "(any host)"
            self._conflict(
                ingress,
                f"{where}.path",
                f"host {shown_host} path {normalized} ({path_type}) is already served by"
                f" {taken.origin}; this path is ignored",
            )
            return
        service = path["backend"]["service"]
        action = self.backends.resolve(ingress, service, f"{where}.backend", self.problems)
        origin = Origin(ingress.namespace, ingress.name, where)
        host.claims[key] = Claim(path_type, normalized, action, origin, _describe(action), options)

    def _conflict(self, ingress: Manifest, field_path: str, reason: str) -> None:
        self.problems.append(Problem(Severity.WARNING, ingress.ref, field_path, reason, "conflict"))

    def _server(self, name: str) -> Server:
        host = self.hosts[name]
        secure = host.tls is not None and host.tls.certificate != DEFAULT_CERTIFICATE
        locations = _locations(host.claims, secure, self.config.ssl_redirect)
        if (Match.PREFIX, "/") not in host.claims:
            fallback, origin = self._fallback(host)
            redirect = secure and self.config.ssl_redirect
            locations[(Match.PREFIX, "/")] = Location(
                Match.PREFIX, "/", fallback, origin, https_redirect=redirect
            )
        _shield_from_auto_redirect(locations)
        ordered = tuple(sorted(locations.values(), key=lambda location: location.sort_key))
        return Server(name, server_names(name), name == CATCH_ALL, ordered, host.tls)

    def _fallback(self, host: Host) -> tuple[Action, Origin | None]:
        if host.default is not None:
            return host.default
        if self.global_default is not None:
            return self.global_default[0], self.global_default[1]
        return NOT_FOUND, None


def _locations(
    claims: Mapping[ClaimKey, Claim], secure: bool, ssl_redirect: bool
) -> dict[ClaimKey, Location]:
    """Locations for a host's claims: Exact claims first, so they win the ``=`` form."""
    locations: dict[ClaimKey, Location] = {}

    def add(match: Match, path: str, claim: Claim, replace: bool = True) -> None:
        if not replace and (match, path) in locations:
            return
        wanted = claim.options.ssl_redirect
        redirect = claim.options.force_ssl_redirect or (
            secure and (ssl_redirect if wanted is None else wanted)
        )
        redirect = redirect and not path.startswith(ACME_CHALLENGE)
        locations[(match, path)] = Location(match, path, claim.action, claim.origin, redirect)

    for (match, path), claim in claims.items():
        if match is Match.EXACT:
            add(Match.EXACT, path, claim)
    for (match, path), claim in claims.items():
        if match is not Match.PREFIX:
            continue
        if path == "/":
            add(Match.PREFIX, "/", claim)
            continue
        add(Match.EXACT, path, claim, replace=False)
        add(Match.PREFIX, path + "/", claim)
    return locations


def _shield_from_auto_redirect(locations: dict[ClaimKey, Location]) -> None:
    """Keep nginx from answering ``/foo`` with a 301 because ``location = /foo/`` exists.

    nginx redirects a request for a location's path minus its trailing slash to the slashed
    path, for exact locations too. An ``Exact /foo/`` rule must leave ``/foo`` to whatever
    else matches it, so ``/foo`` gets an exact location of its own with that answer: the
    longest prefix location that matches it (there is always ``/``).
    """
    for match, path in list(locations):
        if match is not Match.EXACT or path == "/" or not path.endswith("/"):
            continue
        twin = path[:-1]
        if (Match.EXACT, twin) in locations:
            continue
        prefixes = [
            candidate
            for (kind, prefix), candidate in locations.items()
            if kind is Match.PREFIX and twin.startswith(prefix)
        ]
        chosen = max(prefixes, key=lambda candidate: len(candidate.path))
        locations[(Match.EXACT, twin)] = replace(chosen, match=Match.EXACT, path=twin)


def _normalize(path: str, path_type: PathType) -> str:
    """The path nginx compares: percent-decoded; for Prefix without its trailing /."""
    decoded = location_path(path)
    if path_type is PathType.EXACT:
        return decoded
    return decoded.rstrip("/") or "/"


def server_names(host: str) -> tuple[str, ...]:
    """``server_name`` arguments for an Ingress host (already validated)."""
    if host == CATCH_ALL:
        return ("_",)
    if host.startswith("*."):
        suffix = host[2:].replace(".", r"\.")
        return (rf"~^[^.]+\.{suffix}$",)
    return (host,)


def _describe(action: Action) -> str:
    if isinstance(action, Respond):
        return str(action.status)
    return action.service
