"""From an Ingress backend to what nginx does with the request.

A ``service`` backend names a Service and one of its ports, by number or by name. With
EndpointSlices (or, failing those, Endpoints) for that Service, requests go to an
``upstream`` of the ready endpoints at their target ports; with none in the input, to the
Service's DNS name resolved by nginx at request time, so the output passes ``nginx -t``
anywhere. ExternalName Services proxy to their external name. A Service port without a
ready endpoint answers 503. With service-upstream, the upstream is the Service's ClusterIP.
In dns mode every Service port is an upstream whose servers nginx resolves at run time from the
sidecar's DNS responder, and so is, for nginx 1.27.3 and later, a port given by name for a
Service not in the input (from the cluster DNS): dns_upstreams.py.

How an upstream balances, and the upstreams of its own an Ingress with proxy-ssl-* settings
gets, is settled by shared_upstreams.py.

What a Service port resolves to depends on the Service and its endpoint objects alone, so a
translator keeps it between translations (`ResolutionsMemo`), with the upstreams it added and
the problems it reported, which are added and reported again each time it is used. It is
used only while the Service's endpoint objects are the same ones it was worked out from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity, shown
from ingress2nginx.core.grammar import is_dns1123_subdomain
from ingress2nginx.core.objects import Inventory, Manifest, ManifestMemo
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions, dns_upstreams
from ingress2nginx.features.balancing import Balancing
from ingress2nginx.model import (
    Action,
    Endpoint,
    ProxyToAddress,
    ProxyToUpstream,
    ResolvedServer,
    Respond,
    Upstream,
)
from ingress2nginx.normalize.endpoints import (
    EndpointsMemo,
    PortEndpoints,
    legacy_endpoints,
    mappings,
    merged,
    parse_ip,
    port_name_of,
    port_number,
    slice_endpoints,
)
from ingress2nginx.normalize.shared_upstreams import SharedUpstreams


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a Service port resolved to, and why when it is not a proxy."""

    action: Action
    trouble: str
    """A reason to report against the Ingress that uses it; empty when all is well."""
    severity: Severity = Severity.WARNING
    code: Code = Code.BACKEND
    """The problem code of `trouble`."""


Effect = Upstream | Problem
"""What resolving a Service port does besides answering: add an upstream (unless one of that
name is there already), report a problem (unless reported already)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A Service port's resolution, remembered with what working it out did."""

    resolution: Resolution
    sources: tuple[Manifest, ...]
    """The endpoint objects it was worked out from: it holds while they are the same."""
    effects: tuple[Effect, ...]
    """The upstreams added and problems reported on the way, in order."""


ResolutionsMemo = ManifestMemo[dict[tuple[str | int, bool], Resolved]]
"""Per Service: each port's `Resolved`, by (port as the Ingress names it, service-upstream)."""


class Backends:
    """Resolves service backends, remembering each Service port's answer and its upstream."""

    def __init__(
        self,
        inventory: Inventory,
        settings: Settings,
        options: Mapping[Manifest, IngressOptions] | None = None,
        endpoints: EndpointsMemo | None = None,
        resolutions: ResolutionsMemo | None = None,
    ) -> None:
        self._inventory = inventory
        self._settings = settings
        self._options = options or {}
        """What each served Ingress's annotations ask for (service-upstream, balancing)."""
        self._balancing = Balancing(settings.config.load_balance)
        """The global load-balance: each upstream's until an Ingress asks otherwise."""
        self._endpoints = endpoints if endpoints is not None else ManifestMemo()
        """Endpoints read from each endpoint object, kept between translations (watch mode)."""
        self._resolutions = resolutions if resolutions is not None else ManifestMemo()
        """Resolutions of each Service's ports, kept between translations (watch mode)."""
        self._recordings: list[list[Effect]] = []
        """The effects of the resolutions being worked out (nested for service-upstream)."""
        self._resolved: dict[tuple[str, str, str | int, bool], Resolution] = {}
        self.upstreams: dict[str, Upstream] = {}
        """Every upstream some resolved backend proxies to, by name."""
        self._shared = SharedUpstreams(self.upstreams)
        self.problems: list[Problem] = []
        """Problems with Services and EndpointSlices themselves (reported once each)."""

    def resolve(
        self,
        ingress: Manifest,
        service: Mapping[str, Any],
        field: str,
        problems: list[Problem],
        namespace: str | None = None,
    ) -> Action:
        """`resolve_port` for a validated ``service`` given as a mapping (``name``, and
        ``port`` with a ``number`` or a ``name``), as the Gateway API side builds it."""
        port = service["port"]
        port_key: str | int = port["number"] if "number" in port else port["name"]
        return self.resolve_port(ingress, service["name"], port_key, field, problems, namespace)

    def resolve_port(
        self,
        ingress: Manifest,
        name: str,
        port_key: int | str,
        field: str,
        problems: list[Problem],
        namespace: str | None = None,
    ) -> Action:
        """The action for port `port_key` (a number, or a port's name) of Service `name`,
        a validated backend of `ingress` found at `field`; the Service is in `namespace` when
        given (an HTTPRoute's granted backendRef), else in the object's own."""
        options = self._options.get(ingress, DEFAULT_OPTIONS)
        cluster_ip = options.balancing.service_upstream
        resolution = self._cached(namespace or ingress.namespace, name, port_key, cluster_ip)
        if resolution.trouble:
            problems.append(
                Problem(
                    resolution.severity, ingress.ref, field, resolution.trouble, resolution.code
                )
            )
        return self._shared.settle(ingress, options, resolution.action, field, problems)

    def resolve_first_port(
        self, ingress: Manifest, name: str, field: str, problems: list[Problem]
    ) -> Action:
        """The action for the first port of Service `name` in the Ingress's namespace (the
        default-backend annotation names a Service without a port)."""
        service = self._inventory.services.get((ingress.namespace, name))
        spec = service.body.get("spec") if service is not None else None
        ports = spec.get("ports") if isinstance(spec, Mapping) else None
        first = next(iter(mappings(ports)), None)
        number = port_number(first.get("port")) if first is not None else None
        if number is None:
            reason = f"service {ingress.namespace}/{name} is not in the input or has no port"
            problems.append(Problem(Severity.WARNING, ingress.ref, field, reason, Code.BACKEND))
            return Respond(503, "service unavailable")
        return self.resolve_port(ingress, name, number, field, problems)

    def _cached(self, namespace: str, name: str, port: str | int, cluster_ip: bool) -> Resolution:
        key = (namespace, name, port, cluster_ip)
        resolution = self._resolved.get(key)
        if resolution is None:
            resolution = self._resolve(namespace, name, port, cluster_ip)
            self._resolved[key] = resolution
        return resolution

    def _resolve(self, namespace: str, name: str, port: str | int, cluster_ip: bool) -> Resolution:
        service = self._inventory.services.get((namespace, name))
        if service is None:
            label = f"{namespace}/{name}:{port}"
            if isinstance(port, str) and self._settings.resolves_upstreams:
                resolved = dns_upstreams.by_name(namespace, name, port, self._settings)
                return self._resolved_upstream(f"{namespace}_{name}_{port}", label, resolved)
            if isinstance(port, str):
                return _unavailable(
                    label,
                    f"service {label}: a port given by name needs the Service in the input"
                    " (or nginx 1.27.3 or later: --nginx-version)",
                )
            action = ProxyToAddress(self._dns_name(namespace, name, port), label)
            return Resolution(action, self._missing(namespace, name), code=Code.MISSING_SERVICE)
        if not self._resolutions.keep:
            return self._resolve_service(service, port, cluster_ip)
        sources = self._endpoint_sources(service)
        remembered = self._resolutions.get(service, lambda _: {})
        found = remembered.get((port, cluster_ip))
        if found is not None and found.sources == sources:
            for effect in found.effects:
                self._apply(effect)
            return found.resolution
        self._recordings.append([])
        try:
            resolution = self._resolve_service(service, port, cluster_ip)
        finally:
            effects = tuple(self._recordings.pop())
        remembered[(port, cluster_ip)] = Resolved(resolution, sources, effects)
        return resolution

    def _missing(self, namespace: str, name: str) -> str:
        """Why a Service the input lacks is worth a warning: only when the input holds other
        Services (with none at all, Services are read as living in the cluster, found by
        DNS); empty otherwise."""
        if not self._inventory.services:
            return ""
        return (
            f"service {namespace}/{name} is not in the input, which holds other Services:"
            " its name is resolved by DNS at request time (left out, or misspelt?)"
        )

    def _endpoint_sources(self, service: Manifest) -> tuple[Manifest, ...]:
        """The endpoint objects `_ready_endpoints` reads for `service`."""
        slices = self._inventory.endpoint_slices.get(service.key)
        if slices:
            return tuple(slices)
        legacy = self._inventory.endpoints.get(service.key)
        return () if legacy is None else (legacy,)

    def _resolve_service(self, service: Manifest, port: str | int, cluster_ip: bool) -> Resolution:
        namespace, name = service.namespace, service.name
        spec = service.body.get("spec")
        if not isinstance(spec, dict | Mapping):  # a dict, as parsed, is checked first
            spec = {}
        service_port = _find_port(spec, port)
        if service_port is None:
            label = f"{namespace}/{name}:{port}"
            return _unavailable(label, f"service {namespace}/{name} has no port {shown(port)}")
        number, port_name = service_port
        label = f"{namespace}/{name}:{number}"
        if spec.get("type") == "ExternalName":
            return self._external_name(service, spec.get("externalName"), number, label)
        if cluster_ip:
            return self._cluster_ip(namespace, name, port, spec.get("clusterIP"), number, label)
        if dns_upstreams.dns_mode(self._settings):
            resolved = dns_upstreams.by_number(namespace, name, number, self._settings)
            return self._resolved_upstream(f"{namespace}_{name}_{number}", label, resolved)
        endpoints = self._ready_endpoints(service, port_name)
        if endpoints is None:
            return Resolution(ProxyToAddress(self._dns_name(namespace, name, number), label), "")
        if not endpoints:
            return _unavailable(label, f"service {label} has no ready endpoints; answering 503")
        upstream = f"{namespace}_{name}_{number}"
        self._add_upstream(upstream, label, endpoints)
        return Resolution(ProxyToUpstream(upstream, label), "")

    def _add_upstream(self, name: str, label: str, endpoints: tuple[Endpoint, ...]) -> None:
        """An upstream, made once (a port named by number and by name is one upstream), with
        the global load-balance until an Ingress asks otherwise."""
        self._apply(Upstream(name, label, endpoints, self._balancing))

    def _resolved_upstream(self, name: str, label: str, server: ResolvedServer) -> Resolution:
        """An upstream whose servers nginx resolves at run time (dns_upstreams.py)."""
        self._apply(Upstream(name, label, (), self._balancing, server))
        return Resolution(ProxyToUpstream(name, label), "")

    def _apply(self, effect: Effect) -> None:
        """Add an upstream unless one of its name is there, or report a problem unless it is
        reported already; noted in the resolutions being worked out."""
        for recording in self._recordings:
            recording.append(effect)
        if isinstance(effect, Upstream):
            self.upstreams.setdefault(effect.name, effect)
        elif effect not in self.problems:
            self.problems.append(effect)

    def _cluster_ip(
        self, namespace: str, name: str, port: str | int, address: object, number: int, label: str
    ) -> Resolution:
        """service-upstream: an upstream of the ClusterIP at the Service port; without a
        usable ClusterIP (headless, or not in the manifest), the endpoints, reported."""
        ip = parse_ip(address) if isinstance(address, str) else None
        if ip is not None:
            upstream = f"{namespace}_{name}_{number}_clusterip"
            self._add_upstream(upstream, f"{label} ClusterIP", (Endpoint(str(ip), number),))
            return Resolution(ProxyToUpstream(upstream, label), "")
        usual = self._cached(namespace, name, port, False)
        note = (
            f"service-upstream: service {label} has no ClusterIP (headless, or not in the"
            " manifest); proxying to its endpoints"
        )
        trouble = f"{note}; {usual.trouble}" if usual.trouble else note
        return Resolution(usual.action, trouble, usual.severity)

    def _dns_name(self, namespace: str, name: str, port: int) -> str:
        return f"{name}.{namespace}.svc.{self._settings.cluster_domain}:{port}"

    def _external_name(
        self, service: Manifest, external: object, port: int, label: str
    ) -> Resolution:
        host = external.rstrip(".") if isinstance(external, str) else ""
        if not (is_dns1123_subdomain(host) or parse_ip(host) is not None):
            self._report(
                service.ref, "spec.externalName", f"invalid external name {shown(external)}"
            )
            return _unavailable(label, f"service {label}: invalid ExternalName; answering 503")
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return Resolution(ProxyToAddress(address, label), "")

    def _ready_endpoints(self, service: Manifest, port_name: str) -> tuple[Endpoint, ...] | None:
        """Ready endpoints of a Service port, or None when the input has no endpoint objects."""
        slices = self._inventory.endpoint_slices.get(service.key)
        if slices:
            parts = [self._port_endpoints(item, port_name, slice_endpoints) for item in slices]
        else:
            legacy = self._inventory.endpoints.get(service.key)
            if legacy is None:
                return None
            parts = [self._port_endpoints(legacy, port_name, legacy_endpoints)]
        return merged(parts)

    def _port_endpoints(
        self,
        source: Manifest,
        port_name: str,
        read: Callable[[Manifest, str], PortEndpoints],
    ) -> PortEndpoints:
        """What `source` gives the port: read once per endpoint object and port name, its
        skipped addresses reported on every translation."""
        by_port = self._endpoints.get(source, lambda _: {})
        found = by_port.get(port_name)
        if found is None:
            found = by_port[port_name] = read(source, port_name)
        for field, reason in found.skipped:
            self._report(source.ref, field, reason)
        return found

    def _report(self, ref: ObjectRef, field: str, reason: str) -> None:
        self._apply(Problem(Severity.WARNING, ref, field, reason, Code.INVALID_ENDPOINT))


def _unavailable(label: str, reason: str) -> Resolution:
    return Resolution(Respond(503, "service unavailable"), reason)


def _find_port(spec: Mapping[str, Any], wanted: str | int) -> tuple[int, str] | None:
    """(port number, port name) of the Service port the Ingress names, in a Service's spec."""
    by_name = isinstance(wanted, str)
    for port in mappings(spec.get("ports")):
        number = port_number(port.get("port"))
        if number is None:
            continue
        if wanted == number or (by_name and wanted == port_name_of(port)):
            return number, port_name_of(port)
    if isinstance(wanted, int) and spec.get("type") == "ExternalName":
        return wanted, ""
    return None
