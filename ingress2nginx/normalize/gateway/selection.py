"""Which Gateways are ours, and which of their listeners nginx serves.

A Gateway is served when its ``spec.gatewayClassName`` names a GatewayClass whose
``spec.controllerName`` is ours (`CONTROLLER_NAME`), or equals ``--gateway-class`` (which
needs no GatewayClass object: from files there may be none). Others are named in a message,
never silently lost.

Listeners. Port 80 with protocol HTTP is served on ``--http-port``, port 443 with protocol
HTTPS on ``--https-port``; HTTP or HTTPS on any other port (but nginx's own ones) on that port
as given. An HTTPS listener terminates TLS (mode Terminate) with the certificate of its first
``certificateRefs`` entry (a ``kubernetes.io/tls`` Secret; in another namespace only with a
ReferenceGrant), chosen by SNI among the listeners of its port. A port has one protocol: a
listener asking for the other one than the first listener on that port (Gateways oldest
first, listeners in order) is reported (ProtocolConflict) and left out, as is any other
listener. ``allowedRoutes`` is read here and applied by attachment.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.grammar import host_problem, is_dns1123_label, is_dns1123_subdomain
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.gateway.grants import CORE_GROUP, GATEWAY_GROUP, Grants, Reference
from ingress2nginx.normalize.gateway.shapes import listed, text

CONTROLLER_NAME = "ingress2nginx.dev/gateway-controller"
HTTP_PORT = 80
HTTPS_PORT = 443


@dataclass(frozen=True, slots=True)
class AllowedRoutes:
    """A listener's ``allowedRoutes``."""

    namespaces: str = "Same"
    """``Same``, ``All`` or ``Selector``."""
    selector: Mapping[str, Any] = field(default_factory=dict)
    """The label selector of ``Selector``."""
    http_routes: bool = True
    """HTTPRoute is among the allowed kinds (the default for HTTP and HTTPS listeners)."""
    grpc_routes: bool = True
    """GRPCRoute is among the allowed kinds (also a default for HTTP and HTTPS listeners)."""


@dataclass(frozen=True, slots=True)
class Listener:
    """A served listener of a served Gateway."""

    gateway: Manifest
    index: int
    name: str
    port: int
    """As clients see it: for 80 and 443, nginx listens on --http-port / --https-port."""
    hostname: str | None
    certificate: tuple[str, str] | None
    """(namespace, name) of the TLS Secret of an HTTPS listener."""
    allowed: AllowedRoutes
    protocol: str = "HTTP"
    """``HTTP`` or ``HTTPS``."""

    @property
    def secure(self) -> bool:
        """Whether the listener terminates TLS (protocol HTTPS)."""
        return self.protocol == "HTTPS"

    @property
    def field(self) -> str:
        """The listener's field path in its Gateway."""
        return f"spec.listeners[{self.index}]"


def served_listeners(
    manifests: Mapping[str, list[Manifest]],
    settings: Settings,
    grants: Grants,
    problems: list[Problem],
) -> list[Listener]:
    """The listeners nginx serves, Gateways oldest first, listeners in order."""
    ours, refused = set(), set()
    for item in manifests.get("GatewayClass", []):
        if _spec(item).get("controllerName") != CONTROLLER_NAME:
            continue
        trouble = class_problem(item)
        if trouble:
            problems.append(Problem(Severity.WARNING, item.ref, "spec.parametersRef", trouble,
                                    Code.CLASS))  # fmt: skip
            refused.add(item.name)
        else:
            ours.add(item.name)
    found: list[Listener] = []
    protocols: dict[int, str] = {}
    for gateway in manifests.get("Gateway", []):
        class_name = text(_spec(gateway).get("gatewayClassName"))
        if not named_validly(gateway, problems) or class_name in refused:
            continue
        if class_name != settings.gateway_class and class_name not in ours:
            reason = (
                f"gatewayClassName {shown(class_name)} is neither --gateway-class"
                f" {settings.gateway_class} nor a GatewayClass of {CONTROLLER_NAME}; not served"
            )
            problems.append(Problem(Severity.INFO, gateway.ref, "spec", reason, Code.CLASS))
            continue
        found.extend(_listeners(gateway, grants, problems, _reserved(settings), protocols))
    return found


def _protocol_conflict(listener: Listener, protocols: dict[int, str]) -> str:
    """Why the listener is left out when its port is served for another protocol (the first
    one asked for there), else empty; `protocols` remembers the first one of each port."""
    first = protocols.setdefault(listener.port, listener.protocol)
    if first == listener.protocol:
        return ""
    return (
        f"port {listener.port} is already served for {first} by another listener"
        " (ProtocolConflict); listener left out"
    )


def class_problem(gateway_class: Manifest) -> str:
    """Why a GatewayClass of ours is not accepted (its Gateways are not served), or empty:
    ingress2nginx takes no parameters, so a ``parametersRef`` cannot be honoured."""
    if _spec(gateway_class).get("parametersRef") is None:
        return ""
    return (
        "ingress2nginx takes no parameters (InvalidParameters); the Gateways of this class"
        " are not served"
    )


def named_validly(manifest: Manifest, problems: list[Problem]) -> bool:
    """Whether the object's name and namespace are Kubernetes names (they are written in
    comments and messages); reported and left out otherwise."""
    if is_dns1123_subdomain(manifest.name) and is_dns1123_label(manifest.namespace):
        return True
    reason = "metadata.name must be a DNS subdomain and metadata.namespace a DNS label; left out"
    problems.append(Problem(Severity.ERROR, manifest.ref, "metadata", reason, Code.INVALID_OBJECT))
    return False


def _reserved(settings: Settings) -> frozenset[int]:
    """Ports nginx already listens on for other reasons: a listener's own port cannot be one."""
    ports = {settings.http_port, settings.https_port, settings.status_port}
    return frozenset(port for port in ports if port)


def _spec(manifest: Manifest) -> Mapping[str, Any]:
    spec = manifest.body.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _listeners(
    gateway: Manifest,
    grants: Grants,
    problems: list[Problem],
    reserved: frozenset[int],
    protocols: dict[int, str],
) -> list[Listener]:
    entries = _spec(gateway).get("listeners")
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, Mapping):
            continue
        where = f"spec.listeners[{index}]"
        listener = _listener(gateway, index, entry, grants, problems, reserved)
        if not isinstance(listener, str):
            listener = _protocol_conflict(listener, protocols) or listener
        if isinstance(listener, str):
            problems.append(Problem(Severity.WARNING, gateway.ref, where, listener, Code.LISTENER))
        else:
            found.append(listener)
    return found


def _listener(
    gateway: Manifest,
    index: int,
    entry: Mapping[str, Any],
    grants: Grants,
    problems: list[Problem],
    reserved: frozenset[int] = frozenset(),
) -> Listener | str:
    """The listener, or why it is not served."""
    port, protocol = entry.get("port"), entry.get("protocol")
    trouble = _port_problem(port, protocol, reserved)
    if trouble or not isinstance(port, int):
        return trouble
    hostname = entry.get("hostname")
    if hostname is not None:
        wrong = host_problem(hostname) if isinstance(hostname, str) else "must be a string"
        if wrong:
            return f"hostname {shown(hostname)}: {wrong} (UnsupportedValue); listener left out"
    certificate = None
    if protocol == "HTTPS":
        found = _certificate(gateway, index, entry.get("tls"), grants, problems)
        if isinstance(found, str):
            return found
        certificate = found
    name = entry.get("name")
    return Listener(gateway, index, name if isinstance(name, str) else "", port, hostname,
                    certificate, _allowed_routes(entry.get("allowedRoutes")),
                    str(protocol))  # fmt: skip


def _port_problem(port: object, protocol: object, reserved: frozenset[int]) -> str:
    """Why a listener's port and protocol are not served, or empty: HTTP on 80, HTTPS on 443,
    either on a port of its own (not one nginx listens on already)."""
    shown_port = port if isinstance(port, int) and not isinstance(port, bool) else shown(port)
    if (port, protocol) in ((HTTP_PORT, "HTTP"), (HTTPS_PORT, "HTTPS")):
        return ""
    if protocol not in ("HTTP", "HTTPS"):
        return (
            f"protocol {shown(protocol)}: only HTTP and HTTPS are served (UnsupportedProtocol);"
            " listener left out"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        return f"port {shown_port} is not a port number (PortUnavailable); listener left out"
    if port in (HTTP_PORT, HTTPS_PORT):
        return (
            f"port {port} protocol {protocol}: port 80 is served for HTTP (on --http-port) and"
            " 443 for HTTPS (on --https-port) (PortUnavailable); listener left out"
        )
    if port in reserved:
        return (
            f"port {port} is one nginx already listens on (--http-port, --https-port"
            " or --status-port) (PortUnavailable); listener left out"
        )
    return ""


def _certificate(
    gateway: Manifest, index: int, tls: object, grants: Grants, problems: list[Problem]
) -> tuple[str, str] | str:
    """(namespace, name) of the listener's TLS Secret, or why the listener is not served."""
    tls = tls if isinstance(tls, Mapping) else {}
    if tls.get("mode", "Terminate") != "Terminate":
        return (
            f"TLS mode {shown(tls.get('mode'))}: only Terminate is served (UnsupportedValue);"
            " listener left out"
        )
    refs = [ref for ref in listed(tls.get("certificateRefs")) if isinstance(ref, Mapping)]
    if not refs:
        return (
            "an HTTPS listener needs tls.certificateRefs (InvalidCertificateRef); listener left out"
        )
    ref = refs[0]
    where = f"spec.listeners[{index}].tls.certificateRefs[0]"
    if (ref.get("group") or CORE_GROUP, ref.get("kind") or "Secret") != (CORE_GROUP, "Secret"):
        return (
            "tls.certificateRefs[0]: only core Secrets are supported (InvalidCertificateRef);"
            " listener left out"
        )
    namespace = ref.get("namespace") or gateway.namespace
    name = ref.get("name")
    if not isinstance(name, str) or not is_dns1123_subdomain(name):
        return (
            f"tls.certificateRefs[0]: invalid Secret name {shown(name)} (InvalidCertificateRef);"
            " listener left out"
        )
    reference = Reference(GATEWAY_GROUP, "Gateway", gateway.namespace, CORE_GROUP, "Secret",
                          namespace, name)  # fmt: skip
    if not grants.allows(reference):
        return (
            f"tls.certificateRefs[0]: secret {namespace}/{name} is in another namespace and no"
            " ReferenceGrant there allows it (RefNotPermitted); listener left out"
        )
    if len(refs) > 1:
        reason = "only the first certificateRefs entry is used; the others are ignored"
        problems.append(Problem(Severity.WARNING, gateway.ref, where, reason, Code.LISTENER))
    return namespace, name


def _allowed_routes(value: object) -> AllowedRoutes:
    value = value if isinstance(value, Mapping) else {}
    namespaces = value.get("namespaces")
    namespaces = namespaces if isinstance(namespaces, Mapping) else {}
    origin = namespaces.get("from") or "Same"
    selector = namespaces.get("selector")
    kinds = value.get("kinds")
    return AllowedRoutes(str(origin), selector if isinstance(selector, Mapping) else {},
                         _allows_kind(kinds, "HTTPRoute"),
                         _allows_kind(kinds, "GRPCRoute"))  # fmt: skip


def _allows_kind(kinds: object, name: str) -> bool:
    """Whether ``allowedRoutes.kinds`` admits route kind `name` (none listed: every kind an
    HTTP or HTTPS listener supports)."""
    return (
        not isinstance(kinds, list)
        or not kinds
        or any(
            isinstance(kind, Mapping)
            and kind.get("kind") == name
            and (kind.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP
            for kind in kinds
        )
    )
