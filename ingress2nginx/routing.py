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
from dataclasses import dataclass, field
from typing import Any

from ingress2nginx.backends import Backends
from ingress2nginx.errors import Problem, Severity
from ingress2nginx.model import Action, Location, Match, Origin, PathType, Respond, Route, Server
from ingress2nginx.objects import Manifest
from ingress2nginx.validating import location_path

NOT_FOUND = Respond(404, "no rule matches and there is no default backend")
CATCH_ALL = ""
"""The host key of rules without a host."""

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


@dataclass(slots=True)
class Host:
    """Everything claimed on one host while the Ingresses are visited."""

    claims: dict[ClaimKey, Claim] = field(default_factory=dict)
    default: tuple[Action, Origin] | None = None
    """The host's own default backend, from the oldest Ingress with rules here and one."""


@dataclass(slots=True)
class Router:
    """Collects claims from Ingresses (oldest first) and lays them out as servers."""

    backends: Backends
    problems: list[Problem]
    hosts: dict[str, Host] = field(default_factory=lambda: {CATCH_ALL: Host()})
    global_default: tuple[Action, Origin, bool] | None = None
    """(action, origin, from an Ingress without rules)."""

    def add(self, ingress: Manifest) -> None:
        """Claim the paths of one validated, served Ingress."""
        spec: Mapping[str, Any] = ingress.body["spec"]
        rules = spec.get("rules") or []
        default = self._default_backend(ingress, spec)
        for index, rule in enumerate(rules):
            host = self.hosts.setdefault(rule.get("host") or CATCH_ALL, Host())
            if default is not None and host.default is None and rule.get("host"):
                host.default = default
            http = rule.get("http") or {}
            for path_index, path in enumerate(http.get("paths") or []):
                self._claim(ingress, host, rule.get("host") or CATCH_ALL, path,
                            f"spec.rules[{index}].http.paths[{path_index}]")

    def servers(self) -> tuple[Server, ...]:
        """Every server, the catch-all first, then by host."""
        return tuple(self._server(name) for name in sorted(self.hosts))

    def routes(self) -> tuple[Route, ...]:
        """Every winning claim, by host then path, for ``explain``."""
        return tuple(
            Route(name, claim.path, claim.path_type, claim.backend, claim.origin)
            for name in sorted(self.hosts)
            for claim in sorted(self.hosts[name].claims.values(), key=lambda c: (c.path, c.path_type))
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

    def _claim(
        self, ingress: Manifest, host: Host, host_name: str, path: Mapping[str, Any], where: str
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
        host.claims[key] = Claim(path_type, normalized, action, origin, _describe(action))

    def _conflict(self, ingress: Manifest, field_path: str, reason: str) -> None:
        self.problems.append(Problem(Severity.WARNING, ingress.ref, field_path, reason, "conflict"))

    def _server(self, name: str) -> Server:
        host = self.hosts[name]
        locations = _locations(host.claims)
        if (Match.PREFIX, "/") not in host.claims:
            fallback, origin = self._fallback(host)
            locations[(Match.PREFIX, "/")] = Location(Match.PREFIX, "/", fallback, origin)
        ordered = tuple(sorted(locations.values(), key=lambda location: location.sort_key))
        return Server(name, server_names(name), name == CATCH_ALL, ordered)

    def _fallback(self, host: Host) -> tuple[Action, Origin | None]:
        if host.default is not None:
            return host.default
        if self.global_default is not None:
            return self.global_default[0], self.global_default[1]
        return NOT_FOUND, None


def _locations(claims: Mapping[ClaimKey, Claim]) -> dict[ClaimKey, Location]:
    """Locations for a host's claims: Exact claims first, so they win the ``=`` form."""
    locations: dict[ClaimKey, Location] = {}
    for (match, path), claim in claims.items():
        if match is Match.EXACT:
            locations[(Match.EXACT, path)] = Location(Match.EXACT, path, claim.action, claim.origin)
    for (match, path), claim in claims.items():
        if match is not Match.PREFIX:
            continue
        if path == "/":
            locations[(Match.PREFIX, "/")] = Location(Match.PREFIX, "/", claim.action, claim.origin)
            continue
        locations.setdefault(
            (Match.EXACT, path), Location(Match.EXACT, path, claim.action, claim.origin)
        )
        locations[(Match.PREFIX, path + "/")] = Location(
            Match.PREFIX, path + "/", claim.action, claim.origin
        )
    return locations


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
