"""Served HTTPRoutes into servers, beside the Ingresses' (the one model).

Routes are visited oldest first (creationTimestamp, then namespace/name), rules and matches
in order; every match becomes a `Candidate` on each host its route attaches to, and
dispatch.py lays a host's candidates out as locations in the Gateway API's precedence. A
host's server answers 404 for what no match takes, as the Gateway API asks.

Ingresses and routes meet host by host: a host that a served Ingress has rules for (or the
catch-all, when an Ingress has host-less rules or a default backend) stays the Ingresses';
an HTTPRoute attached to it is reported as a conflict naming the route and the host, and
serves its other hosts (docs/gateway-api.md).

A host reached only through HTTPS listeners answers plain HTTP with a 308 to HTTPS (its
routes are never served unencrypted); a host reached through an HTTP listener is also
answered over HTTPS with the default certificate, as an Ingress host without TLS is: nginx
serves each host on both ports.

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
from ingress2nginx.model import (
    CertificateFile,
    Location,
    Match,
    Mirror,
    Origin,
    ProxyToAddress,
    ProxyToUpstream,
    Redirect,
    Respond,
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
from ingress2nginx.normalize.gateway.dispatch import Candidate, layout_claims, rank
from ingress2nginx.normalize.gateway.filters import (
    RuleFilters,
    for_match,
    read_filters,
    redirect_port,
)
from ingress2nginx.normalize.gateway.grants import Grants
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST, server_names
from ingress2nginx.normalize.gateway.matching import PathMatch, path_match, rule_matches
from ingress2nginx.normalize.gateway.selection import (
    HTTP_PORT,
    HTTPS_PORT,
    Listener,
    named_validly,
    served_listeners,
)
from ingress2nginx.normalize.servers import ServerInputs

NOT_FOUND = Respond(404, "no HTTPRoute rule matches")
UNSUPPORTED_RULE_FIELDS = {
    "retry": "the rule's requests are not retried",
    "sessionPersistence": "the rule's requests are not kept to one backend",
}
"""Rule fields the rule is served without, each reported."""

HostKey = tuple[str, int | None]
"""A host and the listener port it is served on: None for 80 and 443 (--http-port and
--https-port), else a listener's own port."""


def own_port(listener: Listener) -> int | None:
    """The port a listener's hosts get servers of their own on: None for 80 and 443."""
    return None if listener.port in (HTTP_PORT, HTTPS_PORT) else listener.port


def _key_order(key: HostKey) -> tuple[str, int]:
    return (key[0], key[1] or 0)


@dataclass(slots=True)
class GatewayHost:
    """What the attached routes claim on one host."""

    candidates: list[Candidate] = field(default_factory=list)
    """Every match of the routes attached here, in the order routes and rules are visited."""
    tls: ServerTLS | None = None
    plain: bool = False
    """Some route reaches the host through an HTTP listener; without one, plain HTTP is
    redirected to HTTPS (when the host has its certificate)."""


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The Gateway API part of the model."""

    servers: tuple[Server, ...] = ()
    routes: tuple[Route, ...] = ()
    certificates: tuple[CertificateFile, ...] = ()
    https: bool = False
    """Some served listener is HTTPS."""

    def merged(self, servers: tuple[Server, ...]) -> tuple[Server, ...]:
        """The Ingresses' servers with these, by host then port (a host here replaces an
        empty one of the Ingresses)."""
        hosts = {server.host for server in self.servers if server.port is None}
        kept = [server for server in servers if server.host not in hosts]
        ordered = sorted([*kept, *self.servers], key=lambda s: (s.host, s.port or 0))
        return tuple(ordered)


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
    namespaces = {item.name: item for item in manifests.get("Namespace", [])}
    gateways = {(item.namespace, item.name): item for item in manifests.get("Gateway", [])}
    builder = _Builder(BackendRefs(backends, grants, set(inventory.services)), certificates,
                       ingress_hosts, problems)  # fmt: skip
    for route in manifests.get("HTTPRoute", []):
        if named_validly(route, problems):
            builder.add(route, attachments(route, listeners, namespaces, problems, gateways))
    return builder.config(any(listener.port == HTTPS_PORT for listener in listeners))


@dataclass(slots=True)
class _Builder:
    refs: BackendRefs
    certificates: Certificates
    ingress_hosts: set[str]
    problems: list[Problem]
    hosts: dict[HostKey, GatewayHost] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    files: dict[str, CertificateFile] = field(default_factory=dict)

    def add(self, route: Manifest, attached: list[Any]) -> None:
        """Claim the rules of one route on every host it attached to."""
        hosts: dict[HostKey, Listener] = {}
        for attachment in attached:
            port = own_port(attachment.listener)
            for host in attachment.hosts:
                if port is None and host in self.ingress_hosts:
                    self._conflict(route, attachment.parent, host)
                    continue
                if (host, port) not in hosts or attachment.listener.port == HTTPS_PORT:
                    hosts[(host, port)] = attachment.listener
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
            backend = self._backend(route, rule, index, filters)
            for host, listener in hosts.items():
                self._claim(route, rule, index, host, backend, filters.filters)
                self._secure(host, listener)
        for attachment in attached:
            for host in attachment.hosts:
                key = (host, own_port(attachment.listener))
                if key in self.hosts and attachment.listener.port != HTTPS_PORT:
                    self.hosts[key].plain = True

    def _filters(self, route: Manifest, rule: Mapping[str, Any], index: int) -> RuleFilters | None:
        """The rule's filters; None (reported) when one is invalid: the rule is left out."""
        for key, effect in UNSUPPORTED_RULE_FIELDS.items():
            if rule.get(key) is not None:
                self._report(Problem(Severity.WARNING, route.ref, f"spec.rules[{index}].{key}",
                                     f"not supported: {effect}", Code.UNSUPPORTED))  # fmt: skip
        found = read_filters(rule, index)
        if isinstance(found, tuple):
            where, reason = found
            self._report(Problem(Severity.ERROR, route.ref, where, f"{reason}; this rule is"
                                 " left out", Code.INVALID_FILTER))  # fmt: skip
            return None
        for where, reason in found.notes:
            self._report(Problem(Severity.WARNING, route.ref, where, reason, Code.UNSUPPORTED))
        if found.mirrors and found.filters is not None:
            mirrors = tuple(self._mirror(route, where, ref) for where, ref in found.mirrors)
            kept = tuple(mirror for mirror in mirrors if mirror is not None)
            found = replace(found, filters=replace(found.filters, mirrors=kept))
        return found

    def _mirror(self, route: Manifest, where: str, ref: Mapping[str, Any]) -> Mirror | None:
        """A RequestMirror's backend; None (reported) when it cannot proxy."""
        target = self.refs.entry(route, ref, where, self.problems)
        if not isinstance(target, ProxyToUpstream | ProxyToAddress):
            reason = "the mirror backend cannot be reached; requests are not mirrored"
            self._report(Problem(Severity.WARNING, route.ref, where, reason, Code.BACKEND))
            return None
        digest = hashlib.sha256(f"{target}".encode()).hexdigest()[:12]
        return Mirror(f"/%gwmirror-{digest}", target)

    def _backend(self, route: Manifest, rule: Mapping[str, Any], index: int,
                 filters: RuleFilters) -> RuleBackend:  # fmt: skip
        """What the rule's requests get: 500 for a filter nginx cannot honour, the redirect
        of a RequestRedirect, else its backendRefs."""
        if filters.unusable:
            reason = f"{filters.unusable}; the rule's requests get 500"
            self._report(Problem(Severity.WARNING, route.ref, f"spec.rules[{index}]", reason,
                                 Code.UNSUPPORTED))  # fmt: skip
            return RuleBackend(UNRESOLVED, backend="500")
        if filters.redirect_status is not None:
            status = filters.redirect_status
            return RuleBackend(Redirect(status, "", variable=True), backend=f"redirect {status}")
        return self.refs.rule(route, rule, index, self.problems)

    def _claim(self, route: Manifest, rule: Mapping[str, Any], index: int, key: HostKey,
               backend: RuleBackend, filters: RouteFilters | None) -> None:  # fmt: skip
        host, port = key
        server = self.hosts.setdefault(key, GatewayHost())
        if port is not None and filters is not None:
            filters = redirect_port(filters, port)
        for match_index, match in enumerate(rule_matches(rule)):
            where = f"spec.rules[{index}].matches[{match_index}]"
            found = path_match(match)
            if isinstance(found, str):
                self._report(Problem(Severity.ERROR, route.ref, f"{where}.path", found,
                                     Code.INVALID_PATH))  # fmt: skip
                continue
            tests = conditions(match)
            if isinstance(tests, str):
                reason = f"{tests}; this match is left out"
                self._report(Problem(Severity.ERROR, route.ref, where, reason, Code.INVALID_MATCH))
                continue
            tested, headers, params, method = tests
            adapted = self._for_match(route, filters, found, (index, match_index, port), where)
            if isinstance(adapted, str):
                continue
            origin = Origin(route.namespace, route.name, where, route.kind)
            order = rank(headers, params, method, route.age_key, index, match_index)
            server.candidates.append(Candidate(found, tested, order, backend.action, backend.named,
                                               backend.backend, origin, adapted))  # fmt: skip
            shown = (
                f"{backend.backend} ({conditions_text(len(tested))})" if tested else backend.backend
            )
            self.routes.append(Route(host, found.value, found.path_type, shown, origin, port))

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

    def _conflict(self, route: Manifest, parent: int, host: str) -> None:
        reason = (
            f"host {host or '(any host)'} is served by Ingresses, which keep it; this route"
            " is not served there"
        )
        where = f"spec.parentRefs[{parent}]"
        self.problems.append(Problem(Severity.WARNING, route.ref, where, reason, Code.CONFLICT))

    def config(self, https: bool) -> GatewayConfig:
        keys = sorted(self.hosts, key=_key_order)
        servers = [self._server(key) for key in keys]
        for port in sorted({port for _, port in keys if port is not None}):
            if (ANY_HOST, port) not in self.hosts:  # nginx would make the first its default
                location = Location(Match.PREFIX, "/", NOT_FOUND, None)
                servers.append(Server(ANY_HOST, ("_",), True, (location,), port=port))
        routes = sorted(self.routes, key=lambda route: (route.host, route.port or 0, route.path))
        files = tuple(self.files[name] for name in sorted(self.files))
        return GatewayConfig(tuple(servers), tuple(routes), files, https)

    def _server(self, key: HostKey) -> Server:
        (host, port), found = key, self.hosts[key]
        label = host if port is None else f"{host}:{port}"
        claims, needed = layout_claims(label, found.candidates)
        named = {location.path: location for location in reversed(needed)}
        return ServerInputs(host, server_names(host), host == ANY_HOST, tuple(claims),
                            (NOT_FOUND, None), found.tls, None, (), not found.plain,
                            named=tuple(named[name] for name in sorted(named)),
                            port=port).build()  # fmt: skip
