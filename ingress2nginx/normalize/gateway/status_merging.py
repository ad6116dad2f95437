"""The status to write: ours (status.py) merged into what the cluster has, or nothing.

The Gateway API asks a controller to merge, never to replace: a condition type ingress2nginx
does not set (another controller's, or a policy's) stays as it is, and so do other
controllers' ``status.parents`` entries of an HTTPRoute; ours are written in the order of the
route's parentRefs, after theirs. A condition whose status (True, False) is unchanged keeps its
``lastTransitionTime``; one that changes, or is new, gets `now`. When the merged status is
the one the cluster has, nothing is written: `merged_status` answers None.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ingress2nginx.normalize.gateway.selection import CONTROLLER_NAME
from ingress2nginx.normalize.gateway.status import ObjectStatus, generation

Json = dict[str, Any]


def merged_status(wanted: ObjectStatus, now: str) -> Json | None:
    """The object's whole new ``status``, or None when it already has ours (or when a
    condition of ours there is newer than our copy of the object: it is written next time,
    from the newer copy). `now` is an RFC 3339 time, such as ``2026-12-01T22:00:00Z``."""
    current = wanted.manifest.body.get("status")
    current = copy.deepcopy(dict(current)) if isinstance(current, Mapping) else {}
    if _ahead_of(current, generation(wanted.manifest)):
        return None
    merged = copy.deepcopy(current)
    if wanted.manifest.kind == "HTTPRoute":
        _merge_parents(merged, wanted.status.get("parents") or [], now)
    else:
        _merge_object(merged, wanted.status, now)
    return None if merged == current else merged


def _merge_object(merged: Json, wanted: Mapping[str, Any], now: str) -> None:
    """A GatewayClass's or Gateway's status: conditions merged; addresses ours; listeners
    ours, each merged with the current one of its name."""
    merged["conditions"] = merge_conditions(_conditions(merged), wanted["conditions"], now)
    if "addresses" in wanted and (wanted["addresses"] or merged.get("addresses")):
        merged["addresses"] = list(wanted["addresses"])
    if "listeners" in wanted:
        current = {
            item.get("name"): item for item in _listed(merged.get("listeners")) if _is_map(item)
        }
        listeners = []
        for listener in wanted["listeners"]:
            before = current.get(listener["name"], {})
            entry = {**listener}
            entry["conditions"] = merge_conditions(_conditions(before), listener["conditions"], now)
            listeners.append(entry)
        merged["listeners"] = listeners


def _merge_parents(merged: Json, wanted: Sequence[Mapping[str, Any]], now: str) -> None:
    """An HTTPRoute's status.parents: theirs kept in place, ours after them."""
    parents = [item for item in _listed(merged.get("parents")) if _is_map(item)]
    theirs = [item for item in parents if item.get("controllerName") != CONTROLLER_NAME]
    ours = {
        _ref_key(item.get("parentRef")): item
        for item in parents
        if item.get("controllerName") == CONTROLLER_NAME
    }
    if not ours and not wanted:
        return
    entries = []
    for entry in wanted:
        before = ours.get(_ref_key(entry["parentRef"]), {})
        conditions = merge_conditions(_conditions(before), entry["conditions"], now)
        entries.append({**entry, "conditions": conditions})
    merged["parents"] = [*theirs, *entries]


def merge_conditions(
    current: Sequence[Mapping[str, Any]], ours: Sequence[Mapping[str, Any]], now: str
) -> list[Json]:
    """`current` with each of `ours` in place of the one of its type (new types appended);
    a condition keeps its lastTransitionTime while its status is unchanged."""
    wanted = {item["type"]: item for item in ours}
    merged: list[Json] = []
    for item in current:
        kind = item.get("type")
        if kind in wanted:
            merged.append(_stamped(wanted.pop(kind), item, now))
        else:
            merged.append(dict(item))
    merged += [_stamped(item, {}, now) for item in wanted.values()]
    return merged


def _stamped(condition: Mapping[str, Any], before: Mapping[str, Any], now: str) -> Json:
    kept = before.get("lastTransitionTime")
    unchanged = before.get("status") == condition["status"] and isinstance(kept, str)
    return {**condition, "lastTransitionTime": kept if unchanged else now}


def _ahead_of(status: Mapping[str, Any], observed: int) -> bool:
    """Whether a condition of ours in `status` saw a newer generation than `observed`."""
    found = list(_conditions(status))
    for listener in _listed(status.get("listeners")):
        found += _conditions(listener) if _is_map(listener) else []
    for parent in _listed(status.get("parents")):
        if _is_map(parent) and parent.get("controllerName") == CONTROLLER_NAME:
            found += _conditions(parent)
    return any(
        isinstance(item.get("observedGeneration"), int) and item["observedGeneration"] > observed
        for item in found
    )


def _ref_key(ref: object) -> tuple[object, ...]:
    """A parentRef's identity, its defaults filled in (group, kind)."""
    ref = ref if isinstance(ref, Mapping) else {}
    return (ref.get("group") or "gateway.networking.k8s.io", ref.get("kind") or "Gateway",
            ref.get("namespace"), ref.get("name"), ref.get("sectionName"),
            ref.get("port"))  # fmt: skip


def _conditions(holder: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [item for item in _listed(holder.get("conditions")) if _is_map(item)]


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_map(value: object) -> bool:
    return isinstance(value, Mapping)
