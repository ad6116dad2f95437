"""The Gateway API status ingress2nginx gives the objects it serves, as the Gateway API defines it.

Once nginx runs a config, watch mode writes (cluster/gateway_publishing.py) the status of
every GatewayClass of ours (``spec.controllerName`` `CONTROLLER_NAME`), every Gateway of such
a class (or of ``--gateway-class`` when no GatewayClass of another controller has that name),
and the ``status.parents`` entries of every HTTPRoute and GRPCRoute for those Gateways. This
module says what that status is, without I/O (status_merging.py adds the transition times
and keeps what other controllers wrote).

Nothing is decided twice. The listeners served and the routes attached are what the renderer
gets from selection.py and attachment.py, called here again on the same objects; why a
listener or a parentRef is refused, and why a backendRef does not resolve, is the Gateway API
reason those modules (and backend_refs.py) already put in their messages, in parentheses
(``... (NotAllowedByListeners)``): `tagged` reads it back from the problems the translation
reported. A listener's TLS Secret is checked as the renderer checks it (certificates.py).

Conditions, as the Gateway API asks (every one with the object's ``observedGeneration``):

- GatewayClass: Accepted (Accepted; InvalidParameters when it names ``parametersRef``).
- Gateway: Accepted (Accepted; ListenersNotValid, True while some listener is valid),
  Programmed (Programmed once nginx runs it; Invalid), ``status.addresses`` (the
  ``--publish-service`` / ``--publish-status-address`` addresses), per listener
  (listener_status.py) its ``supportedKinds``, ``attachedRoutes`` and conditions.
- HTTPRoute and GRPCRoute, per parentRef to such a Gateway: Accepted (Accepted,
  NotAllowedByListeners, NoMatchingListenerHostname, NoMatchingParent, UnsupportedValue when
  every rule is invalid) and ResolvedRefs (ResolvedRefs, RefNotPermitted, BackendNotFound,
  InvalidKind, UnsupportedProtocol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.certificates import Certificates
from ingress2nginx.normalize.gateway.attachment import Attachment, attachments
from ingress2nginx.normalize.gateway.grants import GATEWAY_GROUP, Grants
from ingress2nginx.normalize.gateway.grpc_routes import GRPC_ROUTE
from ingress2nginx.normalize.gateway.listener_status import (
    Condition,
    ListenerFacts,
    Reported,
    listener_status,
    tagged,
)
from ingress2nginx.normalize.gateway.selection import (
    CONTROLLER_NAME,
    class_problem,
    named_validly,
    served_listeners,
)
from ingress2nginx.normalize.gateway.shapes import listed, text

Json = dict[str, Any]

ROUTE_ACCEPTED_REASONS = frozenset(
    {"NotAllowedByListeners", "NoMatchingListenerHostname", "NoMatchingParent", "UnsupportedValue"}
)
RESOLVED_REFS_REASONS = frozenset(
    {"RefNotPermitted", "BackendNotFound", "InvalidKind", "UnsupportedProtocol"}
)


@dataclass(frozen=True, slots=True)
class ObjectStatus:
    """The status ingress2nginx wants one object to have."""

    manifest: Manifest
    """The object as read (its generation and its current status)."""
    status: Json
    """``status`` as JSON, conditions without ``lastTransitionTime`` (status_merging.py).
    For an HTTPRoute only ``parents``, and only our entries (possibly none: ours removed)."""


def desired_statuses(
    inventory: Inventory,
    settings: Settings,
    problems: Sequence[Problem],
    addresses: Sequence[Mapping[str, str]],
) -> list[ObjectStatus]:
    """The status of every GatewayClass, Gateway and HTTPRoute of ours, for a config nginx
    runs; `problems` are that translation's, `addresses` the Gateways' ``status.addresses``
    entries (``{"type": "IPAddress", "value": ...}``)."""
    manifests = inventory.gateway
    grants = Grants(manifests.get("ReferenceGrant", []))
    refusals: list[Problem] = []
    listeners = served_listeners(manifests, settings, grants, refusals)
    reported = Reported([*refusals, *problems])
    classes = [item for item in manifests.get("GatewayClass", []) if _ours_class(item)]
    gateways = _our_gateways(manifests, settings)
    namespaces = {item.name: item for item in manifests.get("Namespace", [])}
    attached: dict[tuple[tuple[str, str], int], set[tuple[str, str]]] = {}
    routes = []
    gateway_objects = {item.key: item for item in manifests.get("Gateway", [])}
    for route in [*manifests.get("HTTPRoute", []), *manifests.get(GRPC_ROUTE, [])]:
        if not named_validly(route, []):
            continue
        refused: list[Problem] = []
        found = attachments(route, listeners, namespaces, refused, gateway_objects)
        found = _servable(route, found, settings.http2_directive, refused)
        for attachment in found:
            key = (attachment.listener.gateway.key, attachment.listener.index)
            attached.setdefault(key, set()).add(route.key)
        routes.append(_route_status(route, gateways, found, Reported(refused), reported))
    certificates = Certificates(inventory)
    statuses = [_class_status(item) for item in classes]
    for gateway in gateways.values():
        facts = ListenerFacts(listeners, reported, attached, certificates, settings.http2_directive)
        statuses.append(_gateway_status(gateway, facts, addresses))
    return [*statuses, *routes]


def _servable(
    route: Manifest, found: list[Attachment], plain_grpc: bool, refused: list[Problem]
) -> list[Attachment]:
    """The attachments nginx can serve: a GRPCRoute's to an HTTP listener only where nginx
    serves h2c beside HTTP/1.1 (route_kinds.py, which reports it for the renderer); the
    others are refused as the listener's supportedKinds say (NotAllowedByListeners)."""
    if route.kind != GRPC_ROUTE or plain_grpc:
        return found
    kept = []
    for attachment in found:
        if attachment.listener.certificate is not None:
            kept.append(attachment)
            continue
        reason = (
            "gRPC on a plain HTTP listener needs h2c beside HTTP/1.1, which nginx serves from"
            " 1.25.1 on (NotAllowedByListeners)"
        )
        field = f"spec.parentRefs[{attachment.parent}]"
        refused.append(Problem(Severity.WARNING, route.ref, field, reason, Code.LISTENER))
    return kept


def generation(manifest: Manifest) -> int:
    """``metadata.generation`` (1 when absent, as for an object never changed)."""
    found = manifest.metadata.get("generation")
    return found if isinstance(found, int) and not isinstance(found, bool) else 1


def _ours_class(gateway_class: Manifest) -> bool:
    spec = gateway_class.body.get("spec")
    return isinstance(spec, Mapping) and spec.get("controllerName") == CONTROLLER_NAME


def _our_gateways(
    manifests: Mapping[str, list[Manifest]], settings: Settings
) -> dict[tuple[str, str], Manifest]:
    """The Gateways whose status is ours to write: of an accepted GatewayClass of ours, or of
    ``--gateway-class`` while no GatewayClass (of another controller) has that name."""
    classes = {item.name: item for item in manifests.get("GatewayClass", [])}
    found = {}
    for gateway in manifests.get("Gateway", []):
        spec = gateway.body.get("spec")
        name = text(spec.get("gatewayClassName")) if isinstance(spec, Mapping) else None
        known = classes.get(name or "")
        if known is None:
            ours = name == settings.gateway_class
        else:
            ours = _ours_class(known) and not class_problem(known)
        if ours and named_validly(gateway, []):
            found[gateway.key] = gateway
    return found


def _class_status(gateway_class: Manifest) -> ObjectStatus:
    trouble = class_problem(gateway_class)
    if trouble:
        accepted = Condition("Accepted", False, "InvalidParameters", trouble)
    else:
        accepted = Condition("Accepted", True, "Accepted", f"accepted by {CONTROLLER_NAME}")
    conditions = [accepted.as_json(generation(gateway_class))]
    return ObjectStatus(gateway_class, {"conditions": conditions})


def _gateway_status(
    gateway: Manifest, facts: ListenerFacts, addresses: Sequence[Mapping[str, str]]
) -> ObjectStatus:
    spec = gateway.body.get("spec")
    entries = [
        entry
        for entry in listed(spec.get("listeners") if isinstance(spec, Mapping) else None)
        if isinstance(entry, Mapping)
    ]
    observed = generation(gateway)
    listeners = [listener_status(gateway, index, entry, facts) for index, entry in
                 enumerate(entries)]  # fmt: skip
    invalid = [item.name for item in listeners if not item.accepted]
    programmed = [item.name for item in listeners if item.programmed]
    if not invalid:
        accepted = Condition("Accepted", True, "Accepted", f"accepted by {CONTROLLER_NAME}")
    else:
        message = f"listeners not valid: {', '.join(invalid)}"
        accepted = Condition("Accepted", len(invalid) < len(listeners), "ListenersNotValid",
                             message)  # fmt: skip
    if programmed:
        state = Condition("Programmed", True, "Programmed", "nginx runs this Gateway's config")
    else:
        state = Condition("Programmed", False, "Invalid", "no listener is served")
    status: Json = {
        "addresses": [dict(address) for address in addresses],
        "conditions": [accepted.as_json(observed), state.as_json(observed)],
        "listeners": [item.as_json(observed) for item in listeners],
    }
    return ObjectStatus(gateway, status)


def _route_status(
    route: Manifest,
    gateways: Mapping[tuple[str, str], Manifest],
    found: list[Attachment],
    refused: Reported,
    reported: Reported,
) -> ObjectStatus:
    """Our ``status.parents`` entries of one route: one per parentRef to a Gateway of ours."""
    spec = route.body.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    observed = generation(route)
    resolved = _resolved_refs(route, reported).as_json(observed)
    invalid = _invalid_rules(route, spec, reported)
    parents = []
    for index, ref in enumerate(listed(spec.get("parentRefs"))):
        if not isinstance(ref, Mapping) or not _is_gateway(ref):
            continue
        key = (ref.get("namespace") or route.namespace, ref.get("name"))
        if key not in gateways:
            continue
        attached = any(attachment.parent == index for attachment in found)
        field = f"spec.parentRefs[{index}]"
        accepted = _accepted(attached, refused.at(route, field), reported.at(route, field),
                             invalid)  # fmt: skip
        parents.append({
            "parentRef": _parent_ref(ref),
            "controllerName": CONTROLLER_NAME,
            "conditions": [accepted.as_json(observed), resolved],
        })  # fmt: skip
    return ObjectStatus(route, {"parents": parents})


def _is_gateway(ref: Mapping[str, Any]) -> bool:
    return (ref.get("group") or GATEWAY_GROUP, ref.get("kind") or "Gateway") == (
        GATEWAY_GROUP,
        "Gateway",
    )


def _parent_ref(ref: Mapping[str, Any]) -> Json:
    """The parentRef as the spec has it, group and kind filled in as the API server does."""
    found: Json = {"group": GATEWAY_GROUP, "kind": "Gateway"}
    for key in ("namespace", "name", "sectionName", "port"):
        if ref.get(key) is not None:
            found[key] = ref[key]
    return found


def _accepted(
    attached: bool, refused: list[Problem], reported: list[Problem], invalid: str
) -> Condition:
    if not attached:
        reason = refused[0].reason if refused else "not attached to any listener"
        tag = tagged(reason, ROUTE_ACCEPTED_REASONS) or "NoMatchingParent"
        return Condition("Accepted", False, tag, reason)
    if invalid:
        return Condition("Accepted", False, "UnsupportedValue", invalid)
    notes = "; ".join(problem.reason for problem in reported)
    message = f"accepted by {CONTROLLER_NAME}" + (f"; {notes}" if notes else "")
    return Condition("Accepted", True, "Accepted", message)


def _resolved_refs(route: Manifest, reported: Reported) -> Condition:
    """ResolvedRefs: False with the reason of the first backendRef (in rule order) that does
    not resolve."""
    for problem in reported.under(route, "spec.rules"):
        tag = tagged(problem.reason, RESOLVED_REFS_REASONS)
        if tag:
            return Condition("ResolvedRefs", False, tag, f"{problem.field}: {problem.reason}")
    return Condition("ResolvedRefs", True, "ResolvedRefs", "every backendRef resolves")


def _invalid_rules(route: Manifest, spec: Mapping[str, Any], reported: Reported) -> str:
    """Why every rule of the route is left out (an invalid match or filter in each), or ''
    when some rule is served."""
    rules = listed(spec.get("rules"))
    reasons = []
    for index in range(len(rules)):
        errors = [
            problem
            for problem in reported.under(route, f"spec.rules[{index}]")
            if problem.severity is Severity.ERROR
        ]
        if not errors:
            return ""
        reasons.append(f"{errors[0].field}: {errors[0].reason}")
    return "; ".join(reasons) if reasons else ""
