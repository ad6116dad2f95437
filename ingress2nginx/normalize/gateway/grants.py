"""ReferenceGrants: which references across namespaces the target namespace allows.

A Gateway naming a Secret in another namespace (a listener's ``certificateRefs``), or an
HTTPRoute naming a Service in another namespace (``backendRefs``), needs a ReferenceGrant in
the namespace of the object referred to, listing the referring kind and namespace under
``spec.from`` and the referred kind (and, optionally, name) under ``spec.to``. References
within one namespace need none. ``v1beta1`` and ``v1`` grants read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.objects import Manifest

GATEWAY_GROUP = "gateway.networking.k8s.io"
CORE_GROUP = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference from an object to another, as a grant must allow it."""

    from_group: str
    from_kind: str
    from_namespace: str
    to_group: str
    to_kind: str
    to_namespace: str
    to_name: str


class Grants:
    """The ReferenceGrants of the input, by namespace."""

    def __init__(self, grants: Iterable[Manifest]) -> None:
        self._by_namespace: dict[str, list[Mapping[str, Any]]] = {}
        for grant in grants:
            spec = grant.body.get("spec")
            if isinstance(spec, Mapping):
                self._by_namespace.setdefault(grant.namespace, []).append(spec)

    def allows(self, reference: Reference) -> bool:
        """Whether the reference is allowed: same namespace, or a grant there permits it."""
        if reference.from_namespace == reference.to_namespace:
            return True
        return any(
            _lists_from(spec, reference) and _lists_to(spec, reference)
            for spec in self._by_namespace.get(reference.to_namespace, ())
        )


def _entries(spec: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    found = spec.get(key)
    return [item for item in found if isinstance(item, Mapping)] if isinstance(found, list) else []


def _lists_from(spec: Mapping[str, Any], reference: Reference) -> bool:
    return any(
        (item.get("group") or "") == reference.from_group
        and item.get("kind") == reference.from_kind
        and item.get("namespace") == reference.from_namespace
        for item in _entries(spec, "from")
    )


def _lists_to(spec: Mapping[str, Any], reference: Reference) -> bool:
    return any(
        (item.get("group") or "") == reference.to_group
        and item.get("kind") == reference.to_kind
        and item.get("name") in (None, "", reference.to_name)
        for item in _entries(spec, "to")
    )
