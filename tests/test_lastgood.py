"""Watch mode's memory of each Ingress's last good version (lastgood.py) with the translator's
fallback (normalizing.py): which version is rendered after a bad edit, after nginx refused one,
after a fix and after a deletion. No nginx: the translations themselves are checked."""

from __future__ import annotations

from typing import Any

from e2e import ingress, manifest_text, path, rule, to

from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.lastgood import LastGood, fingerprint, notices
from ingress2nginx.normalize.normalizing import Translator
from ingress2nginx.sources.loading import load_text


def app(route: str = "/", backend: str = "web", **annotations: str) -> Any:
    found = ingress("app", rules=[rule("app.test", path(route, to(backend)))])
    if annotations:
        found["metadata"]["annotations"] = annotations
    return found


def inventory(*objects: Any) -> Inventory:
    return Inventory.build(load_text(manifest_text(objects), "test.yaml").manifests)


def backends(manifests: tuple[Manifest, ...]) -> list[str]:
    return [m.body["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
            for m in manifests]  # fmt: skip


def test_a_rejected_edit_renders_the_last_good_version_until_fixed_or_deleted() -> None:
    memory, translator = LastGood(), Translator(Settings())
    first = translator.translate(inventory(app()), memory.versions)
    memory.applied(first)

    broken = inventory(app(route="no-slash", backend="other"))
    held = translator.translate(broken, memory.versions)
    assert held.served == first.served  # the very version nginx ran
    assert [m.key for m in held.held] == [("default", "app")]
    codes = {p.code for p in held.problems}
    assert {"invalid-path", "kept-last-good"} <= codes and "rejected" not in codes
    assert memory.held(held, broken) == [("default", "app")]
    (notice,) = notices(held.problems, held, broken)
    assert notice.reason == "RejectedEdit" and "spec.rules[0].http.paths[0].path" in notice.message
    assert memory.new_rejections([notice]) == 1 and memory.new_rejections([notice]) == 0

    fixed = translator.translate(inventory(app(backend="other")), memory.versions)
    assert backends(fixed.served) == ["other"] and fixed.held == ()
    memory.applied(fixed)
    memory.applied(translator.translate(inventory(), memory.versions))  # deleted
    again = translator.translate(broken, memory.versions)
    assert again.served == () and "rejected" in {p.code for p in again.problems}


def test_an_ingress_nginx_refused_keeps_its_last_good_version_until_it_changes() -> None:
    memory, translator = LastGood(), Translator(Settings())
    memory.applied(translator.translate(inventory(app()), memory.versions))
    refused = inventory(app(backend="other", **{"nginx.ingress.kubernetes.io/x": "y"}))
    translation = translator.translate(refused, memory.versions)
    passed = translator.translate(memory.without(refused, [("default", "app")]), memory.versions)
    assert backends(passed.served) == ["web"]
    problems = memory.refuse(refused, {("default", "app"): "[emerg] bad"}, passed)
    assert "its last good version is still served" in problems[0].reason
    assert memory.suspects(translation) == [[("default", "app")], [("default", "app")]]

    later, found = memory.prepare(refused)  # the next pass: kept out without nginx -t
    assert backends(tuple(later.ingresses)) == ["web"] and found[0].code == "refused-by-nginx"
    edited, found = memory.prepare(inventory(app(backend="third")))
    assert backends(tuple(edited.ingresses)) == ["third"] and found == []
    assert memory.refused == {}


def test_a_last_good_version_nginx_refuses_too_is_left_out() -> None:
    memory, translator = LastGood(), Translator(Settings())
    memory.applied(translator.translate(inventory(app()), memory.versions))
    broken = inventory(app(route="no-slash"))
    held = translator.translate(broken, memory.versions)  # served: the last good version
    key = ("default", "app")
    dropped = memory.refused_versions([key], held)
    assert dropped == [key]
    passed = translator.translate(memory.without(broken, [key], dropped), memory.versions)
    assert passed.served == ()
    memory.refuse(broken, {key: "[emerg] bad"}, passed)
    later, found = memory.prepare(broken)
    assert later.ingresses == [] and "left out" in found[0].reason


def test_versions_differing_only_in_status_or_resource_version_are_the_same_edit() -> None:
    one, two = app(), app()
    one["metadata"]["resourceVersion"], two["metadata"]["resourceVersion"] = "1", "2"
    two["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    first, second = inventory(one).ingresses[0], inventory(two).ingresses[0]
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(inventory(app(route="/x")).ingresses[0])
