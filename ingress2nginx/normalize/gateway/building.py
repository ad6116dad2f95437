"""Served HTTPRoutes into servers, beside the Ingresses' (the one model).

Routes are visited oldest first (creationTimestamp, then namespace/name), rules and matches
in order; every match becomes a `Candidate` on each host its route attaches to, and
dispatch.py lays a host's candidates out as locations in the Gateway API's precedence. A
host's server answers 404 for what no match takes, as the Gateway API asks.

Ingresses and routes meet host by host: a host that a served Ingress has rules for (or the
catch-all, when an Ingress has host-less rules or a default backend) stays the Ingresses';
an HTTPRoute attached to it is reported as a conflict naming the route and the host, and
serves its other hosts (docs/gateway-api.md).

A route serves a host only on the ports of the listeners it attached through, and only
where no narrower listener hostname of that port takes the host's requests (listener
isolation: isolation.py); where each host's servers listen is listening.py.

Which location answers which match is dispatch.py; what filters do, filters.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import IngressOptions
from ingress2nginx.model import (
    CertificateFile,
    Condition,
    Mirror,
    Origin,
    ProxyToAddress,
    ProxyToUpstream,
    Redirect,
    Route,
    RouteFilters,
    Server,
    ServerTLS,
)
from ingress2nginx.normalize.backends import Backends
from ingress2nginx.normalize.certificates import Certificates
from ingress2nginx.normalize.gateway.attachment import attachments
from ingress2nginx.normalize.gateway.backend_refs import UNRESOLVED, BackendRefs, RuleBackend
from ingress2nginx.normalize.gateway.conditions import conditions, conditions_text
from ingress2nginx.normalize.gateway.dispatch import (
    ROUTE_OPTIONS,
    Candidate,
    Rank,
    rank,
)
from ingress2nginx.normalize.gateway.filters import (
    MIRROR_ALL,
    RuleFilters,
    for_match,
    read_filters,
    redirect_port,
)
from ingress2nginx.normalize.gateway.grants import Grants
from ingress2nginx.normalize.gateway.grpc_routes import (
    GRPC_ROUTE,
    filters_only,
    for_grpc,
    grpc_filter_problem,
    grpc_match,
    grpc_rank,
    grpc_scheme,
)
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST
from ingress2nginx.normalize.gateway.isolation import Isolation, shared
from ingress2nginx.normalize.gateway.listening import (
    GatewayHost,
    HostKey,
    lay_out,
    merged,
    own_port,
    shared_port,
)
from ingress2nginx.normalize.gateway.matching import PathMatch, path_match, rule_matches
from ingress2nginx.normalize.gateway.misdirected import (
    SniPorts,
    checked,
    default_checked,
    sni_ports,
)
from ingress2nginx.normalize.gateway.ref_filters import placed
from ingress2nginx.normalize.gateway.route_kinds import settle_kinds
from ingress2nginx.normalize.gateway.selection import (
    HTTPS_PORT,
    Listener,
    named_validly,
    served_listeners,
)

UNSUPPORTED_RULE_FIELDS = {
    "retry": "the rule's requests are not retried",
    "sessionPersistence": "the rule's requests are not kept to one backend",
}
"""Rule fields the rule is served without, each reported."""


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The Gateway API part of the model."""

    servers: tuple[Server, ...] = ()
    routes: tuple[Route, ...] = ()
    certificates: tuple[CertificateFile, ...] = ()
    https: bool = False
    """Some served listener is HTTPS on port 443 (nginx listens on --https-port)."""
    h2c: bool = False
    """A GRPCRoute is served on a plain HTTP listener (route_kinds.py)."""
    sni_ports: SniPorts = ()
    """The listener hostnames of each HTTPS port (misdirected.py)."""

    def merged(self, servers: tuple[Server, ...]) -> tuple[Server, ...]:
        """The Ingresses' servers with these (listening.py's `merged`), the default server
        of --https-port checked for misdirected requests (misdirected.py)."""
        if not self.servers:
            return servers
        return default_checked(merged(self.servers, servers), self.sni_ports)


def build_gateway(
    inventory: Inventory,
    settings: Settings,
    backends: Backends,
    certificates: Certificates,
    ingress_hosts: set[str],
    problems: list[Problem],
) -> GatewayConfig:
    """The servers, routes and certificates of the served HTTPRoutes; hosts in
    `ingress_hosts` are the Ingresses' (see the module docstring)."""
    manifests = inventory.gateway
    if not manifests.get("Gateway"):
        return GatewayConfig()
    grants = Grants(manifests.get("ReferenceGrant", []))
    listeners = served_listeners(manifests, settings, grants, problems)
    problems.extend(shared(listeners))
    namespaces = {item.name: item for item in manifests.get("Namespace", [])}
    gateways = {(item.namespace, item.name): item for item in manifests.get("Gateway", [])}
    builder = _Builder(BackendRefs(backends, grants, set(inventory.services)), certificates,
                       ingress_hosts, problems, Isolation.of(listeners),
                       inventory.services)  # fmt: skip
    routes = [
        (route, attachments(route, listeners, namespaces, problems, gateways))
        for kind in ("HTTPRoute", GRPC_ROUTE)
        for route in manifests.get(kind, [])
        if named_validly(route, problems)
    ]
    settled, h2c = settle_kinds(routes, settings.http2_directive, shared_port, problems)
    for route, attached in settled:
        builder.add(route, attached)
    secure = {listener.port for listener in listeners if listener.secure}
    return replace(builder.config(secure), h2c=h2c)


@dataclass(slots=True)
class _Builder:
    refs: BackendRefs
    certificates: Certificates
    ingress_hosts: set[str]
    problems: list[Problem]
    isolation: Isolation
    services: Mapping[tuple[str, str], Manifest] = field(default_factory=dict)
    """The input's Services (a GRPCRoute backend's appProtocol)."""
    hosts: dict[HostKey, GatewayHost] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    files: dict[str, CertificateFile] = field(default_factory=dict)

    def add(self, route: Manifest, attached: list[Any]) -> None:
        """Claim the rules of one route on every host it attached to."""
        hosts: dict[HostKey, Listener] = {}
        for attachment in attached:
            listener = attachment.listener
            for host in attachment.hosts:
                if not self.isolation.reaches(listener, host):
                    continue
                if own_port(listener.port) is None and host in self.ingress_hosts:
                    self._conflict(route, attachment.parent, host)
                    continue
                hosts.setdefault((host, listener.port), listener)
        if not hosts:
            return
        spec = route.body.get("spec")
        rules = spec.get("rules") if isinstance(spec, Mapping) else None
        for index, rule in enumerate(rules if isinstance(rules, list) else [{}]):
            if not isinstance(rule, Mapping):
                continue
            filters = self._filters(route, rule, index)
            if filters is None:
                continue
            backend, options = self._backend(route, rule, index, filters)
            for host, listener in hosts.items():
                self._claim(route, rule, index, host, (backend, options), filters.filters)
                self._secure(host, listener)

    def _filters(self, route: Manifest, rule: Mapping[str, Any], index: int) -> RuleFilters | None:
        """The rule's filters; None (reported) when one is invalid: the rule is left out."""
        for key, effect in UNSUPPORTED_RULE_FIELDS.items():
            if rule.get(key) is not None:
                self._report(Problem(Severity.WARNING, route.ref, f"spec.rules[{index}].{key}",
                                     f"not supported: {effect}", Code.UNSUPPORTED))  # fmt: skip
        grpc = route.kind == GRPC_ROUTE
        wrong = grpc_filter_problem(rule, index) if grpc else None
        found = wrong or read_filters(filters_only(rule) if grpc else rule, index)
        if isinstance(found, tuple):
            where, reason = found
            self._report(Problem(Severity.ERROR, route.ref, where, f"{reason}; this rule is"
                                 " left out", Code.INVALID_FILTER))  # fmt: skip
            return None
        for where, reason in found.notes:
            self._report(Problem(Severity.WARNING, route.ref, where, reason, Code.UNSUPPORTED))
        if found.mirrors and found.filters is not None:
            mirrors = tuple(self._mirror(route, *mirror) for mirror in found.mirrors)
            kept = tuple(mirror for mirror in mirrors if mirror is not None)
            found = replace(found, filters=replace(found.filters, mirrors=kept))
        return found

    def _mirror(
        self, route: Manifest, where: str, ref: Mapping[str, Any], share: int
    ) -> Mirror | None:
        """A RequestMirror's backend (copying `share` of the requests); None (reported) when
        it cannot proxy."""
        target = self.refs.entry(route, ref, where, self.problems)
        if not isinstance(target, ProxyToUpstream | ProxyToAddress):
            reason = "the mirror backend cannot be reached; requests are not mirrored"
            self._report(Problem(Severity.WARNING, route.ref, where, reason, Code.BACKEND))
            return None
        scheme = grpc_scheme(route, ref, self.services) if route.kind == GRPC_ROUTE else "http"
        mirror = Mirror("", target, share, scheme)
        text = f"{target}" if (share, scheme) == (MIRROR_ALL, "http") else f"{mirror}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return replace(mirror, location=f"/%gwmirror-{digest}")

    def _backend(self, route: Manifest, rule: Mapping[str, Any], index: int,
                 filters: RuleFilters) -> tuple[RuleBackend, IngressOptions]:  # fmt: skip
        """What the rule's requests get (and how its location passes them): 500 for a filter
        nginx cannot honour, the redirect of a RequestRedirect, else its backendRefs; a
        GRPCRoute's over gRPC, 503 (UNAVAILABLE) for 500 (grpc_routes.py)."""
        grpc = route.kind == GRPC_ROUTE
        if filters.unusable:
            reason = f"{filters.unusable}; the rule's requests get {503 if grpc else 500}"
            self._report(Problem(Severity.WARNING, route.ref, f"spec.rules[{index}]", reason,
                                 Code.UNSUPPORTED))  # fmt: skip
            backend = RuleBackend(UNRESOLVED, backend="500")
        elif filters.redirect_status is not None:
            status = filters.redirect_status
            return RuleBackend(Redirect(status, "", variable=True),
                               backend=f"redirect {status}"), ROUTE_OPTIONS  # fmt: skip
        else:
            backend = self.refs.rule(route, rule, index, self.problems)
        if grpc:
            return for_grpc(backend, route, rule, self.services)
        return backend, ROUTE_OPTIONS

    def _claim(self, route: Manifest, rule: Mapping[str, Any], index: int, key: HostKey,
               passing: tuple[RuleBackend, IngressOptions],
               filters: RouteFilters | None) -> None:  # fmt: skip
        host, port = key[0], own_port(key[1])
        backend, options = passing
        server = self.hosts.setdefault(key, GatewayHost())
        if port is not None and filters is not None:
            filters = redirect_port(filters, port)
        for match_index, match in enumerate(rule_matches(rule)):
            where = f"spec.rules[{index}].matches[{match_index}]"
            read = self._match(route, match, where, (index, match_index))
            if read is None:
                continue
            found, tested, order = read
            adapted = self._for_match(route, filters, found, (index, match_index, port), where)
            if isinstance(adapted, str):
                continue
            origin = Origin(route.namespace, route.name, where, route.kind)
            action, named, own = placed(backend, adapted)
            server.candidates.append(Candidate(found, tested, order, action, named,
                                               backend.backend, origin, own, options))  # fmt: skip
            shown = (
                f"{backend.backend} ({conditions_text(len(tested))})" if tested else backend.backend
            )
            self.routes.append(Route(host, found.value, found.path_type, shown, origin, port))

    def _match(
        self, route: Manifest, match: Mapping[str, Any], where: str, position: tuple[int, int]
    ) -> tuple[PathMatch, tuple[Condition, ...], Rank] | None:
        """The path, conditions and precedence of one match; None (reported) when it cannot
        be served."""
        if route.kind == GRPC_ROUTE:
            call = grpc_match(match)
            if isinstance(call, str):
                reason = f"{call}; this match is left out"
                self._report(Problem(Severity.ERROR, route.ref, where, reason, Code.INVALID_MATCH))
                return None
            return call.path, call.conditions, grpc_rank(call, route.age_key, *position)
        found = path_match(match)
        if isinstance(found, str):
            self._report(Problem(Severity.ERROR, route.ref, f"{where}.path", found,
                                 Code.INVALID_PATH))  # fmt: skip
            return None
        tests = conditions(match)
        if isinstance(tests, str):
            reason = f"{tests}; this match is left out"
            self._report(Problem(Severity.ERROR, route.ref, where, reason, Code.INVALID_MATCH))
            return None
        tested, headers, params, method = tests
        return found, tested, rank(headers, params, method, route.age_key, *position)

    def _for_match(
        self,
        route: Manifest,
        filters: RouteFilters | None,
        match: PathMatch,
        position: tuple[int, int, int | None],
        where: str,
    ) -> RouteFilters | str | None:
        """The rule's filters for one match (named after it); a reason when they cannot
        apply to it (reported: the match is left out)."""
        if filters is None:
            return None
        index, match_index, port = position
        text = f"{route.namespace}/{route.name}\0{index}\0{match_index}\0{port}"
        name = "gw_" + hashlib.sha256(text.encode()).hexdigest()[:12]
        adapted = for_match(filters, match, name)
        if isinstance(adapted, str):
            reason = f"{adapted}; this match is left out"
            self._report(Problem(Severity.ERROR, route.ref, where, reason, Code.INVALID_FILTER))
        return adapted

    def _report(self, problem: Problem) -> None:
        """Report once, however many hosts the route serves."""
        if problem not in self.problems:
            self.problems.append(problem)

    def _secure(self, key: HostKey, listener: Listener) -> None:
        host, server = key[0], self.hosts[key]
        if server.tls is not None or listener.certificate is None:
            return
        namespace, name = listener.certificate
        parsed = self.certificates.lookup(namespace, name)
        where = f"{listener.field}.tls.certificateRefs[0]"
        if isinstance(parsed, str):
            reason = f"secret {namespace}/{name}: {parsed}; host {host or '*'} uses the default"
            self._report(Problem(Severity.WARNING, listener.gateway.ref, where,
                                 f"{reason} certificate", Code.TLS))  # fmt: skip
            return
        self.files[parsed.file.name] = parsed.file
        gateway = listener.gateway
        origin = Origin(gateway.namespace, gateway.name, listener.field, gateway.kind)
        server.tls = ServerTLS(parsed.file.name, origin)

    def _certified(self, listener: Listener) -> bool:
        """Whether the listener is HTTPS with a certificate to present (else the default
        certificate is presented, which the port's default server has already)."""
        found = listener.certificate
        return found is not None and not isinstance(self.certificates.lookup(*found), str)

    def _conflict(self, route: Manifest, parent: int, host: str) -> None:
        reason = (
            f"host {host or '(any host)'} is served by Ingresses, which keep it; this route"
            " is not served there"
        )
        where = f"spec.parentRefs[{parent}]"
        self.problems.append(Problem(Severity.WARNING, route.ref, where, reason, Code.CONFLICT))

    def config(self, secure_ports: set[int]) -> GatewayConfig:
        """The Gateway part of the model; `secure_ports` are the ports of HTTPS listeners."""
        self._guard()
        ports = sni_ports(self.isolation, secure_ports)
        servers = checked(lay_out(self.hosts, secure_ports), ports, self.isolation)
        routes = sorted(self.routes, key=lambda route: (route.host, route.port or 0, route.path))
        files = tuple(self.files[name] for name in sorted(self.files))
        return GatewayConfig(tuple(servers), tuple(routes), files, HTTPS_PORT in secure_ports,
                             sni_ports=ports)  # fmt: skip

    def _guard(self) -> None:
        """A 404 server (with the listener's certificate) for each listener hostname under a
        broader host of its port (isolation.py), and for an HTTPS listener without hostname
        whose certificate is found, when no route takes every host of it (that certificate
        is presented to names no other listener holds: the port's default server's),
        unless the Ingresses keep that host."""
        for port in sorted(self.isolation.listeners):
            hosts = [host for host, served in self.hosts if served == port]
            guarded = self.isolation.guarded(port, hosts)
            catch_all = self.isolation.listeners[port].get(ANY_HOST)
            if catch_all is not None and ANY_HOST not in hosts and self._certified(catch_all):
                guarded.append(catch_all)
            for listener in guarded:
                host = listener.hostname or ANY_HOST
                if own_port(port) is None and host in self.ingress_hosts:
                    continue
                self.hosts[(host, port)] = GatewayHost()
                self._secure((host, port), listener)
