"""Ingresses into servers: path claims, conflicts, default backends.

Ingresses are visited oldest first (creationTimestamp, then namespace/name), each as its
validated view (ingress_view.py). Each path claims host + path + type; the first claim keeps
it and every later one is reported as a conflict. How a host's winning claims become nginx
locations is locations.py; which certificate a host gets is securing.py; what else a host
gathers (aliases, app-root, from-to-www-redirect) and the names its server answers, hosts.py.

Hosts. A precise host is an exact ``server_name``, a wildcard ``*.foo.com`` a regex matching
exactly one label, and nginx prefers exact names to regexes as Kubernetes prefers precise
hosts to wildcards. Rules without a host go to the catch-all ``default_server``.

Default backends. A request matching no path of its host goes to that host's default backend:
the ``spec.defaultBackend`` of the oldest Ingress with rules for the host and a default
backend, else the global default backend, else a 404 from nginx. The global default backend,
which also answers hosts no rule names, is the ``spec.defaultBackend`` of the oldest Ingress
without rules, or failing that the oldest Ingress with one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from operator import attrgetter

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.objects import Manifest, ManifestMemo
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features import PREFIX, IngressOptions
from ingress2nginx.model import (
    Action,
    ErrorPages,
    Match,
    Origin,
    PathType,
    ProxyToAddress,
    ProxyToUpstream,
    Redirect,
    Respond,
    Route,
    Server,
)
from ingress2nginx.normalize.backends import Backends
from ingress2nginx.normalize.canaries import Canary, apply_canaries
from ingress2nginx.normalize.hosts import (
    CATCH_ALL,
    ClaimKey,
    Host,
    aliases,
    server_names,
    www_redirects,
)
from ingress2nginx.normalize.ingress_view import (
    DEFAULT_BACKEND_FIELD,
    HTTPPath,
    IngressView,
    ServiceBackend,
)
from ingress2nginx.normalize.locations import Claim
from ingress2nginx.normalize.paths import location_path
from ingress2nginx.normalize.securing import TLSHosts
from ingress2nginx.normalize.servers import ServerInputs, ServerMemo

NOT_FOUND = Respond(404, "no rule matches and there is no default backend")
ClaimKeyMemo = ManifestMemo[dict[tuple[str, bool], ClaimKey]]
"""Per Ingress: the claim key of each path (by field path and use of regex paths)."""
ClaimMemo = ManifestMemo[dict[str, Claim]]
"""Per Ingress: the claim each path made last time (by field path)."""


@dataclass(slots=True)
class Router:
    """Collects claims from Ingresses (oldest first) and lays them out as servers."""

    backends: Backends
    tls: TLSHosts
    config: GlobalConfig
    problems: list[Problem]
    hosts: dict[str, Host] = field(default_factory=lambda: {CATCH_ALL: Host()})
    global_default: tuple[Action, Origin, bool] | None = None
    """(action, origin, from an Ingress without rules)."""
    https: bool = False
    """Some served Ingress has a TLS section or forces HTTPS, so nginx listens for HTTPS."""
    canaries: list[Canary] = field(default_factory=list)
    claim_keys: ClaimKeyMemo = field(default_factory=ManifestMemo)
    """Claim keys worked out (paths checked and decoded), kept between translations."""
    made: ClaimMemo = field(default_factory=lambda: ManifestMemo(keep=False))
    """Claims made, kept between translations: a path whose backend resolved to the same
    action gives the same `Claim` object again, so servers built from it compare fast."""
    built: ServerMemo = field(default_factory=lambda: ServerMemo(keep=False))
    """Servers built, kept between translations."""
    path_keys: dict[tuple[str, PathType, bool], ClaimKey] = field(default_factory=dict)
    """Claim keys worked out in this translation, by path, type and use of regex paths."""

    def add(self, ingress: Manifest, view: IngressView, options: IngressOptions) -> None:
        """Claim the paths, hosts and TLS hosts of one validated, served Ingress."""
        if options.canary.enabled:
            self.canaries.extend(self._canary_paths(ingress, view, options))
            return
        default = self._default_backend(ingress, view)
        for rule in view.rules:
            name = rule.host
            host = self.hosts.setdefault(name, Host())
            if name:
                host.take(ingress, options, default, rule.field)
            for path in rule.paths:
                self._claim(ingress, host, name, path, options)
        self.tls.add(ingress, view.tls, view.rule_hosts)
        forced = options.redirect.force_ssl_redirect
        self.https = self.https or bool(view.tls) or forced

    def servers(self) -> tuple[Server, ...]:
        """Every server, the catch-all first, then by host; from-to-www redirects included."""
        self._apply_canaries()
        taken = self._taken_names()
        servers = [self._server(name, taken) for name in self.hosts]
        servers.extend(www_redirects(self.hosts, self.tls.hosts, taken))
        return tuple(sorted(servers, key=lambda server: server.host))

    def ingress_hosts(self) -> set[str]:
        """The hosts the Ingresses have rules for; the catch-all when they have host-less
        rules or a default backend (an HTTPRoute cannot take these:
        normalize/gateway/building.py)."""
        hosts = {name for name in self.hosts if name}
        if self.hosts[CATCH_ALL].claims or self.global_default is not None:
            hosts.add(CATCH_ALL)
        return hosts

    def routes(self) -> tuple[Route, ...]:
        """Every winning claim, by host then path, for ``explain``."""
        return tuple(
            Route(name, claim.ingress_path if claim.regex else claim.path, claim.path_type,
                  claim.backend, claim.origin)
            for name in sorted(self.hosts)
            for claim in sorted(self.hosts[name].claims.values(), key=_claim_order)
        )  # fmt: skip

    def _default_backend(
        self, ingress: Manifest, view: IngressView
    ) -> tuple[Action, Origin] | None:
        backend = view.default_backend
        if backend is None:
            return None
        field_path = DEFAULT_BACKEND_FIELD
        action = self._resolve(ingress, backend, field_path)
        origin = Origin(ingress.namespace, ingress.name, field_path)
        without_rules = not view.rules
        current = self.global_default
        if current is None or (without_rules and not current[2]):
            self.global_default = (action, origin, without_rules)
        elif without_rules:
            self._conflict(ingress, field_path, f"the default backend is already {current[1]}")
        return action, origin

    def _canary_paths(
        self, ingress: Manifest, view: IngressView, options: IngressOptions
    ) -> list[Canary]:
        found = []
        for rule in view.rules:
            for path in rule.paths:
                key = self._claim_key(ingress, path, options)
                action = self._action(ingress, path, options)
                origin = Origin(ingress.namespace, ingress.name, path.field)
                found.append(Canary(rule.host, key, action, origin, options))
        return found

    def _apply_canaries(self) -> None:
        """Turn each main path named by a canary Ingress into a split between both backends."""
        apply_canaries(self.canaries, self.hosts, self.problems)
        self.canaries.clear()

    def _claim(
        self, ingress: Manifest, host: Host, host_name: str, path: HTTPPath, options: IngressOptions
    ) -> None:
        path_type, where = path.path_type, path.field
        written = path.path or "/"
        form, normalized = self._claim_key(ingress, path, options)
        regex = form is Match.REGEX
        taken = host.claims.get((form, normalized))
        if taken is not None:
            self._conflict(
                ingress,
                f"{where}.path",
                f"host {host_name or '(any host)'} path {normalized} ({path_type}) is already"
                f" served by {taken.origin}; this path is ignored",
            )
            return
        stand_in = self._stand_in(ingress, options, where)
        told = len(self.problems)
        action = self._action(ingress, path, options)
        standing_in = False
        if isinstance(action, Respond) and stand_in is not None:
            action, standing_in = stand_in, True
            self.problems[told:] = map(_stood_in_for, self.problems[told:])
        made = self.made.get(ingress, lambda _: {}) if self.made.keep else None
        claim = made.get(where) if made is not None else None
        if claim is None or not (
            claim.action is action and claim.stand_in is stand_in and claim.options is options
        ):  # the same Ingress object, path and options: only the backend could differ
            origin = Origin(ingress.namespace, ingress.name, where)
            backend = path.backend
            claim = Claim(
                path_type, normalized, regex, written, action, origin, _describe(action),
                options, None, (backend.name, str(backend.port)), stand_in, standing_in,
            )  # fmt: skip
            if made is not None:
                made[where] = claim
        host.claims[(form, normalized)] = claim

    def _claim_key(self, ingress: Manifest, path: HTTPPath, options: IngressOptions) -> ClaimKey:
        """`_claim_key` of a path of `ingress`, worked out once per Ingress."""
        if not self.claim_keys.keep:
            return self._path_key(path, options)
        keys = self.claim_keys.get(ingress, lambda _: {})
        memo_key = (path.field, options.rewrite.regex)
        key = keys.get(memo_key)
        if key is None:
            key = keys[memo_key] = self._path_key(path, options)
        return key

    def _path_key(self, path: HTTPPath, options: IngressOptions) -> ClaimKey:
        """`_claim_key` of a path, worked out once per translation for each path, type and
        use of regex paths (what it depends on): most Ingresses write the same few paths."""
        found_key = (path.path, path.path_type, options.rewrite.regex)
        key = self.path_keys.get(found_key)
        if key is None:
            key = self.path_keys[found_key] = _claim_key(path, options)
        return key

    def _stand_in(
        self, ingress: Manifest, options: IngressOptions, where: str
    ) -> ProxyToUpstream | ProxyToAddress | None:
        """The default-backend annotation's Service (first port), when it can proxy."""
        name = options.errors.default_backend
        if name is None:
            return None
        field_path = f"metadata.annotations[{PREFIX}default-backend]"
        action = self.backends.resolve_first_port(ingress, name, field_path, self.problems)
        return action if isinstance(action, ProxyToUpstream | ProxyToAddress) else None

    def _with_error_pages(self, claim: Claim) -> Claim:
        """Attach custom-http-errors: rendered by the stand-in, else the global default."""
        codes = claim.options.errors.codes
        if not codes:
            return claim
        target = claim.stand_in
        if target is None and self.global_default is not None:
            candidate = self.global_default[0]
            target = candidate if isinstance(candidate, ProxyToUpstream | ProxyToAddress) else None
        if target is None:
            reason = "custom-http-errors needs a default-backend annotation or a global default"
            ref = ObjectRef("Ingress", claim.origin.namespace, claim.origin.name)
            where = f"metadata.annotations[{PREFIX}custom-http-errors]"
            problem = Problem(
                Severity.WARNING, ref, where, f"{reason} backend; ignored", Code.ERRORS
            )
            if problem not in self.problems:
                self.problems.append(problem)
            return claim
        pages = ErrorPages(codes, target, claim.service[0], claim.service[1])
        return replace(claim, error_pages=pages)

    def _action(self, ingress: Manifest, path: HTTPPath, options: IngressOptions) -> Action:
        redirect = options.redirect.redirect
        if redirect is not None:
            return Redirect(*redirect)
        return self._resolve(ingress, path.backend, path.backend_field)

    def _resolve(self, ingress: Manifest, backend: ServiceBackend, field_path: str) -> Action:
        return self.backends.resolve_port(
            ingress, backend.name, backend.port, field_path, self.problems
        )

    def _conflict(self, ingress: Manifest, field_path: str, reason: str) -> None:
        self.problems.append(
            Problem(Severity.WARNING, ingress.ref, field_path, reason, Code.CONFLICT)
        )

    def _taken_names(self) -> set[str]:
        return {name for name in self.hosts if name}

    def _server(self, name: str, taken: set[str]) -> Server:
        host = self.hosts[name]
        tls = self.tls.hosts.get(name)
        claims = tuple(map(self._with_error_pages, host.claims.values()))
        names = server_names(name) + aliases(host, taken, self.problems)
        usable = tls.usable if tls is not None else None
        return self.built.get(ServerInputs(
            name, names, name == CATCH_ALL, claims, self._fallback(host), usable,
            host.app_root, tuple(host.options), self.config.ssl_redirect,
            self.config.no_auth_locations,
        ))  # fmt: skip

    def _fallback(self, host: Host) -> tuple[Action, Origin | None]:
        if host.default is not None:
            return host.default
        if self.global_default is not None:
            return self.global_default[0], self.global_default[1]
        return NOT_FOUND, None


def _claim_key(path: HTTPPath, options: IngressOptions) -> ClaimKey:
    """(form, normalized path) of an Ingress path: equal keys serve the same requests."""
    path_type = path.path_type
    written = path.path or "/"
    if path_type is PathType.IMPLEMENTATION_SPECIFIC and options.rewrite.regex:
        return Match.REGEX, written
    form = Match.EXACT if path_type is PathType.EXACT else Match.PREFIX
    return form, _normalize(written, path_type)


_claim_order = attrgetter("path", "path_type")
"""A host's claims in ``explain`` order."""


def _normalize(path: str, path_type: PathType) -> str:
    """The path nginx compares: percent-decoded; for Prefix without its trailing /."""
    decoded = location_path(path)
    if path_type is PathType.EXACT:
        return decoded
    return decoded.rstrip("/") or "/"


def _describe(action: Action) -> str:
    if isinstance(action, Respond):
        return str(action.status)
    if isinstance(action, Redirect):
        return f"redirect {action.status} {action.target}"
    return action.service


def _stood_in_for(problem: Problem) -> Problem:
    """A backend's "answering 503", when the default-backend Service answers instead."""
    reason = problem.reason.removesuffix("; answering 503")
    if reason == problem.reason:
        return problem
    return replace(problem, reason=f"{reason}; the default-backend Service answers instead")
