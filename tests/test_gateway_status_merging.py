"""Our Gateway API status merged into the cluster's (status_merging.py): transition times kept
while a condition's status holds, other controllers' parents entries and condition types kept,
our stale entries dropped, and nothing to write when the cluster already has ours."""

from __future__ import annotations

from typing import Any

from gateway_objects import CONTROLLER

from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.gateway.status import ObjectStatus
from ingress2nginx.normalize.gateway.status_merging import merged_status

Obj = dict[str, Any]
EARLIER, NOW = "2026-11-30T10:00:00Z", "2026-12-01T12:00:00Z"
WEB = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "web"}


def cond(kind: str, status: str, reason: str, when: str | None = None, generation: int = 1) -> Obj:
    found = {"type": kind, "status": status, "reason": reason, "message": reason,
             "observedGeneration": generation}  # fmt: skip
    if when is not None:
        found["lastTransitionTime"] = when
    return found


def wanted(kind: str, current: Obj | None, status: Obj, generation: int = 1) -> ObjectStatus:
    body: Obj = {"metadata": {"name": "x", "generation": generation}}
    if current is not None:
        body["status"] = current
    return ObjectStatus(Manifest(kind, "default", "x", body, "cluster"), status)


def test_a_new_condition_gets_now_and_an_unchanged_status_writes_nothing() -> None:
    merged = merged_status(wanted("GatewayClass", None, {"conditions": [
        cond("Accepted", "True", "Accepted")]}), NOW)  # fmt: skip
    assert merged == {"conditions": [cond("Accepted", "True", "Accepted", NOW)]}
    again = wanted("GatewayClass", merged, {"conditions": [cond("Accepted", "True", "Accepted")]})
    assert merged_status(again, "2026-12-02T00:00:00Z") is None


def test_the_transition_time_moves_only_when_the_status_changes() -> None:
    current = {"conditions": [cond("Accepted", "True", "Accepted", EARLIER),
                              cond("Programmed", "True", "Programmed", EARLIER)]}  # fmt: skip
    ours = {"conditions": [cond("Accepted", "True", "ListenersNotValid"),
                           cond("Programmed", "False", "Invalid")]}  # fmt: skip
    merged = merged_status(wanted("Gateway", current, ours), NOW)
    assert merged is not None
    times = {item["type"]: item["lastTransitionTime"] for item in merged["conditions"]}
    assert times == {"Accepted": EARLIER, "Programmed": NOW}


def test_the_crd_default_pending_condition_is_replaced() -> None:
    pending = cond("Accepted", "Unknown", "Pending", "1970-01-01T00:00:00Z")
    ours = {"conditions": [cond("Accepted", "True", "Accepted")]}
    merged = merged_status(wanted("Gateway", {"conditions": [pending]}, ours), NOW)
    assert merged == {"conditions": [cond("Accepted", "True", "Accepted", NOW)]}


def test_another_condition_type_is_kept_in_place() -> None:
    foreign = cond("example.com/Audited", "True", "Done", EARLIER)
    current = {"conditions": [foreign, cond("Accepted", "True", "Accepted", EARLIER)]}
    merged = merged_status(wanted("Gateway", current, {"conditions": [
        cond("Accepted", "False", "ListenersNotValid")]}), NOW)  # fmt: skip
    assert merged is not None
    assert merged["conditions"] == [foreign, cond("Accepted", "False", "ListenersNotValid", NOW)]


def test_listener_conditions_keep_their_times_per_listener_name() -> None:
    listener = {"name": "http", "supportedKinds": [], "attachedRoutes": 1,
                "conditions": [cond("Accepted", "True", "Accepted", EARLIER)]}  # fmt: skip
    current = {"conditions": [cond("Accepted", "True", "Accepted", EARLIER)],
               "listeners": [listener]}  # fmt: skip
    ours = {"conditions": [cond("Accepted", "True", "Accepted")],
            "listeners": [{**listener, "attachedRoutes": 2,
                           "conditions": [cond("Accepted", "True", "Accepted")]}]}  # fmt: skip
    merged = merged_status(wanted("Gateway", current, ours), NOW)
    assert merged is not None
    assert merged["listeners"][0]["attachedRoutes"] == 2
    assert merged["listeners"][0]["conditions"][0]["lastTransitionTime"] == EARLIER


def _parent(controller: str, ref: Obj, *conditions: Obj) -> Obj:
    return {"parentRef": ref, "controllerName": controller, "conditions": list(conditions)}


def test_other_controllers_parents_entries_are_kept_and_ours_follow_them() -> None:
    theirs = _parent("example.com/other", {**WEB, "name": "theirs"},
                     cond("Accepted", "True", "Accepted", EARLIER))  # fmt: skip
    stale = _parent(
        CONTROLLER, {**WEB, "name": "gone"}, cond("Accepted", "True", "Accepted", EARLIER)
    )
    current = {"parents": [stale, theirs]}
    ours = {"parents": [_parent(CONTROLLER, WEB, cond("Accepted", "True", "Accepted"))]}
    merged = merged_status(wanted("HTTPRoute", current, ours), NOW)
    written = _parent(CONTROLLER, WEB, cond("Accepted", "True", "Accepted", NOW))
    assert merged == {"parents": [theirs, written]}


def test_our_entries_are_removed_when_the_route_no_longer_names_our_gateways() -> None:
    theirs = _parent("example.com/other", WEB, cond("Accepted", "True", "Accepted", EARLIER))
    ours = _parent(CONTROLLER, WEB, cond("Accepted", "True", "Accepted", EARLIER))
    merged = merged_status(wanted("HTTPRoute", {"parents": [theirs, ours]}, {"parents": []}), NOW)
    assert merged == {"parents": [theirs]}


def test_a_route_with_nothing_of_ours_writes_nothing() -> None:
    theirs = _parent("example.com/other", WEB, cond("Accepted", "True", "Accepted", EARLIER))
    assert merged_status(wanted("HTTPRoute", {"parents": [theirs]}, {"parents": []}), NOW) is None
    assert merged_status(wanted("HTTPRoute", None, {"parents": []}), NOW) is None


def test_a_status_written_from_a_newer_generation_is_not_overwritten_from_an_older_copy() -> None:
    current = {"conditions": [cond("Accepted", "True", "Accepted", EARLIER, generation=3)]}
    ours = {"conditions": [cond("Accepted", "False", "Invalid", generation=2)]}
    assert merged_status(wanted("Gateway", current, ours, generation=2), NOW) is None
