"""Kubernetes objects as loaded, before any interpretation.

Loading (files, stdin, the API) produces `Manifest` records: plain dicts exactly as Kubernetes
would return them, with Ingresses already converted to ``networking.k8s.io/v1``. `Inventory`
indexes them by kind and key for the normalizing stage. Nothing here knows nginx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity

CLUSTER_SCOPED = frozenset({"IngressClass", "GatewayClass", "Namespace"})
"""Kinds without a namespace; every other kind read here lives in one."""

GATEWAY_KINDS = frozenset(
    {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "Namespace"}
)
"""Gateway API kinds (normalize/gateway/), a second input beside Ingresses, and the Namespaces
whose labels a listener's allowedRoutes selector reads."""

KINDS = (
    frozenset({"Ingress", "IngressClass", "Service", "EndpointSlice", "Endpoints", "Secret"})
    | GATEWAY_KINDS
)
"""Kinds this program reads; others are skipped silently."""

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
"""Label tying an EndpointSlice to its Service."""

_NEVER = datetime.max.replace(tzinfo=UTC)

T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False)
class Manifest:
    """One Kubernetes object as read from a source."""

    kind: str
    """``Ingress``, ``Service``, ``EndpointSlice``, ``Endpoints``, ``IngressClass``, ``Secret``."""
    namespace: str
    """metadata.namespace; ``default`` when a namespaced object has none; empty when
    cluster-scoped."""
    name: str
    """metadata.name (may still be invalid: validation happens later, per kind)."""
    body: Mapping[str, Any]
    """The whole object as plain JSON-like data; Ingresses converted to networking.k8s.io/v1."""
    origin: str
    """Where it came from, for messages: ``path:line`` or ``cluster``."""
    legacy_fields: tuple[tuple[bool, str, str], ...] = ()
    """A legacy Ingress's ``networking.k8s.io/v1`` fields, dropped by its conversion:
    (fatal, field path, reason) from `converting.v1_fields`, reported with the Ingress."""
    _ref: ObjectRef | None = field(default=None, init=False, repr=False)
    _age: tuple[datetime, str, str] | None = field(default=None, init=False, repr=False)
    """`ref` and `age_key`, worked out once: watch mode's every pass sorts and names every
    object again, and a Manifest never changes."""

    @property
    def ref(self) -> ObjectRef:
        """The object's identity for problem reports."""
        ref = self._ref
        if ref is None:
            ref = ObjectRef(self.kind, self.namespace, self.name)
            object.__setattr__(self, "_ref", ref)
        return ref

    @property
    def key(self) -> tuple[str, str]:
        """(namespace, name): unique within a kind."""
        return (self.namespace, self.name)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """metadata, or an empty mapping when absent or malformed."""
        meta = self.body.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def annotations(self) -> Mapping[str, str]:
        """metadata.annotations with non-string values dropped."""
        raw = self.metadata.get("annotations")
        if not isinstance(raw, Mapping):
            return {}
        return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}

    @property
    def labels(self) -> Mapping[str, str]:
        """metadata.labels with non-string values dropped."""
        raw = self.metadata.get("labels")
        if not isinstance(raw, Mapping):
            return {}
        return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}

    @property
    def created(self) -> datetime:
        """metadata.creationTimestamp; objects without one (fresh from a file) count as newest."""
        stamp = self.metadata.get("creationTimestamp")
        if isinstance(stamp, datetime):
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if isinstance(stamp, str):
            try:
                parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                return _NEVER
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return _NEVER

    @property
    def age_key(self) -> tuple[datetime, str, str]:
        """Sort key for "oldest wins": creationTimestamp, then namespace, then name."""
        key = self._age
        if key is None:
            key = (self.created, self.namespace, self.name)
            object.__setattr__(self, "_age", key)
        return key


@dataclass(slots=True)
class Inventory:
    """Every loaded object, indexed the way the normalizer looks them up."""

    ingresses: list[Manifest] = field(default_factory=list)
    """All Ingresses, oldest first (see `Manifest.age_key`)."""
    ingress_classes: dict[str, Manifest] = field(default_factory=dict)
    services: dict[tuple[str, str], Manifest] = field(default_factory=dict)
    endpoint_slices: dict[tuple[str, str], list[Manifest]] = field(default_factory=dict)
    """EndpointSlices by (namespace, service name) from their kubernetes.io/service-name label."""
    endpoints: dict[tuple[str, str], Manifest] = field(default_factory=dict)
    secrets: dict[tuple[str, str], Manifest] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    """Problems found while indexing (duplicates)."""
    gateway: dict[str, list[Manifest]] = field(default_factory=dict)
    """Gateway API objects by kind (`GATEWAY_KINDS`), oldest first; read by gateway/."""

    @classmethod
    def build(cls, manifests: Iterable[Manifest]) -> Inventory:
        """Index manifests; of two objects with one identity, keep one chosen independently
        of input order (oldest, then the one whose origin sorts first) and report the other."""
        inventory = cls()
        chosen: dict[tuple[str, str, str], Manifest] = {}
        for manifest in manifests:
            if manifest.kind not in KINDS:
                continue
            identity = (manifest.kind, manifest.namespace, manifest.name)
            previous = chosen.get(identity)
            if previous is None:
                chosen[identity] = manifest
                continue
            keep, drop = sorted((previous, manifest), key=_duplicate_order)
            chosen[identity] = keep
            inventory.problems.append(
                Problem(
                    Severity.WARNING,
                    drop.ref,
                    "",
                    f"defined twice ({keep.origin} and {drop.origin}); using {keep.origin}",
                    Code.DUPLICATE_OBJECT,
                )
            )
        for manifest in sorted(chosen.values(), key=lambda m: m.age_key):
            inventory._add(manifest)
        return inventory

    def _add(self, manifest: Manifest) -> None:
        kind = manifest.kind
        if kind == "Ingress":
            self.ingresses.append(manifest)
        elif kind == "IngressClass":
            self.ingress_classes[manifest.name] = manifest
        elif kind == "Service":
            self.services[manifest.key] = manifest
        elif kind == "Endpoints":
            self.endpoints[manifest.key] = manifest
        elif kind == "Secret":
            self.secrets[manifest.key] = manifest
        elif kind in GATEWAY_KINDS:
            self.gateway.setdefault(kind, []).append(manifest)
        elif kind == "EndpointSlice":
            service = manifest.labels.get(SERVICE_NAME_LABEL)
            if service:
                self.endpoint_slices.setdefault((manifest.namespace, service), []).append(manifest)


def _duplicate_order(manifest: Manifest) -> tuple[datetime, str]:
    return (manifest.created, manifest.origin)


class ManifestMemo(Generic[T]):
    """What was derived from one `Manifest` alone, kept while that Manifest is in use.

    Keyed by the Manifest object itself (Manifests compare and hash by identity): the file
    loader's `ParseCache` and the cluster cache hand out the same Manifest for an unchanged
    object, and a changed object is always a new Manifest, so a value found here can never be
    stale. `forget_unused` after each pass drops what that pass did not ask for, so the memo
    holds no more than the objects in use (and keeps them alive no longer than one pass).
    Without `keep`, nothing is remembered: for a single pass, where remembering only costs
    memory.
    """

    __slots__ = ("_kept", "_used", "keep")

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self._kept: dict[Manifest, T] = {}
        self._used: dict[Manifest, T] = {}

    def get(self, manifest: Manifest, derive: Callable[[Manifest], T]) -> T:
        """The value for `manifest`: remembered, or ``derive(manifest)`` now."""
        if not self.keep:
            return derive(manifest)
        try:
            return self._used[manifest]
        except KeyError:
            pass
        try:
            value = self._kept[manifest]
        except KeyError:
            value = derive(manifest)
        self._used[manifest] = value
        return value

    def forget_unused(self) -> None:
        """Keep only what was asked for since the last call."""
        self._kept, self._used = self._used, {}

    def __len__(self) -> int:
        return len(self._kept.keys() | self._used.keys())
