"""Gateway API status written to the cluster, through the real client against the emulator in
tests/kubeapi.py: the conditions and reasons land on the ``status`` subresource of the
GatewayClass, Gateway and HTTPRoutes; nothing is written twice for the same state; other
controllers' parents entries survive; an object changed or deleted meanwhile is no error.

The objects are read as ``--from-cluster`` reads them (cluster/loading.py, with the Gateway
API kinds of cluster/gateway.py), translated, and offered to the status publisher as the
watcher does once nginx runs the config (``after_apply``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import echo_service, service, started_backends
from gateway_objects import (
    CONTROLLER,
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    parent,
    route_rule,
)
from harness import NginxRunner
from kubeapi import KubeApi
from watchrun import running_sidecar

from ingress2nginx.cluster.caching import ClusterSource
from ingress2nginx.cluster.connecting import connect
from ingress2nginx.cluster.loading import ClusterOptions, load_cluster
from ingress2nginx.cluster.publishing import PublishOptions, StatusPublisher
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import normalize

Obj = dict[str, Any]
SETTINGS = Settings()


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi() as server:
        yield server


def writer(api: KubeApi, tmp_path: Path, addresses: tuple[str, ...] = ()) -> StatusPublisher:
    options = PublishOptions(service=None, addresses=addresses, election_namespace="ingress2nginx",
                             identity="pod-a", lease_seconds=1, interval=0.1)  # fmt: skip
    return StatusPublisher(connect(api.kubeconfig(tmp_path)), options, SETTINGS)


def applied(api: KubeApi, tmp_path: Path, publisher: StatusPublisher) -> int:
    """Read the cluster, translate, tell the publisher nginx runs it, and publish: how many
    statuses were written."""
    loaded = load_cluster(ClusterOptions(kubeconfig=api.kubeconfig(tmp_path)), SETTINGS)
    publisher.after_apply(normalize(Inventory.build(loaded.manifests), SETTINGS), loaded)
    return publisher.publish_pending()


def status_patches(api: KubeApi) -> list[str]:
    return [r.path for r in api.writes() if r.method == "PATCH" and r.path.endswith("/status")]


def conditions(holder: Obj) -> dict[str, tuple[str, str]]:
    return {item["type"]: (item["status"], item["reason"]) for item in holder["conditions"]}


def status_of(api: KubeApi, kind: str, name: str, namespace: str = "default") -> Obj:
    return (api.get(kind, namespace, name) or {}).get("status") or {}


def our_parents(api: KubeApi, route: str, namespace: str = "default") -> list[Obj]:
    parents = status_of(api, "HTTPRoute", route, namespace).get("parents") or []
    return [item for item in parents if item["controllerName"] == CONTROLLER]


def world(*extra: Obj) -> list[Obj]:
    listeners = [listener("http", 80, hostname="*.test", namespaces="All")]
    return [gateway_class(), gateway("web", namespace="infra", listeners=listeners),
            service("shop"), *extra]  # fmt: skip


def route(name: str = "shop", *, namespace: str = "default", hostname: str = "shop.test",
          backend: Obj | None = None) -> Obj:  # fmt: skip
    return http_route(name, namespace=namespace, parents=[parent("web", namespace="infra")],
                      hostnames=[hostname],
                      rules=[route_rule(None, [backend or backend_ref("shop")])])  # fmt: skip


def test_an_accepted_route_its_gateway_and_class_get_their_status(
    api: KubeApi, tmp_path: Path
) -> None:
    api.apply(*world(route()))
    assert applied(api, tmp_path, writer(api, tmp_path, ("203.0.113.7",))) == 3
    assert conditions(status_of(api, "GatewayClass", "ours", "")) == {
        "Accepted": ("True", "Accepted")
    }
    gateway_status = status_of(api, "Gateway", "web", "infra")
    assert conditions(gateway_status) == {
        "Accepted": ("True", "Accepted"),
        "Programmed": ("True", "Programmed"),
    }
    assert gateway_status["addresses"] == [{"type": "IPAddress", "value": "203.0.113.7"}]
    (http,) = gateway_status["listeners"]
    assert (http["name"], http["attachedRoutes"]) == ("http", 1)
    assert conditions(http)["Programmed"] == ("True", "Programmed")
    (entry,) = our_parents(api, "shop")
    assert entry["parentRef"]["name"] == "web"
    assert conditions(entry) == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs"),
    }
    assert {item["observedGeneration"] for item in entry["conditions"]} == {1}


@pytest.mark.parametrize(
    ("objects", "condition", "reason"),
    [
        ([route(hostname="shop.example")], "Accepted", "NoMatchingListenerHostname"),
        ([route(backend=backend_ref("absent"))], "ResolvedRefs", "BackendNotFound"),
        ([route(backend=backend_ref("shop", namespace="other")), service("shop", "other")],
         "ResolvedRefs", "RefNotPermitted"),
    ],
    ids=["no-matching-hostname", "missing-backend", "cross-namespace-backend-without-grant"],
)  # fmt: skip
def test_a_route_gets_the_reason_it_is_not_accepted_or_resolved(
    api: KubeApi, tmp_path: Path, objects: list[Obj], condition: str, reason: str
) -> None:
    api.apply(*world(*objects))
    applied(api, tmp_path, writer(api, tmp_path))
    (entry,) = our_parents(api, "shop")
    assert conditions(entry)[condition] == ("False", reason)


def test_a_route_a_listener_does_not_allow_is_not_allowed_by_listeners(
    api: KubeApi, tmp_path: Path
) -> None:
    same = gateway("web", namespace="infra", listeners=[listener("http", 80)])
    api.apply(gateway_class(), same, service("shop"), route())
    applied(api, tmp_path, writer(api, tmp_path))
    (entry,) = our_parents(api, "shop")
    assert conditions(entry)["Accepted"] == ("False", "NotAllowedByListeners")
    (http,) = status_of(api, "Gateway", "web", "infra")["listeners"]
    assert http["attachedRoutes"] == 0


def test_a_listener_naming_a_missing_secret_has_an_invalid_certificate_ref(
    api: KubeApi, tmp_path: Path
) -> None:
    https = listener("https", 443, hostname="secure.test", secret="missing-tls")
    api.apply(gateway_class(), gateway("web", namespace="infra", listeners=[https]))
    applied(api, tmp_path, writer(api, tmp_path))
    (status,) = status_of(api, "Gateway", "web", "infra")["listeners"]
    assert conditions(status)["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert conditions(status)["Programmed"] == ("False", "Invalid")


def test_nothing_is_written_again_for_the_same_state(api: KubeApi, tmp_path: Path) -> None:
    api.apply(*world(route()))
    publisher = writer(api, tmp_path)
    assert applied(api, tmp_path, publisher) == 3
    patches = len(status_patches(api))
    assert publisher.publish_pending() == 0, "the same copies again: written already"
    assert applied(api, tmp_path, publisher) == 0, "fresh copies holding our status"
    assert applied(api, tmp_path, writer(api, tmp_path)) == 0, "a new writer (a restart)"
    assert len(status_patches(api)) == patches


def test_the_transition_time_is_kept_while_the_status_holds(api: KubeApi, tmp_path: Path) -> None:
    api.apply(*world(route()))
    publisher = writer(api, tmp_path)
    applied(api, tmp_path, publisher)
    before = {item["type"]: item for item in our_parents(api, "shop")[0]["conditions"]}
    for item in before.values():
        item["lastTransitionTime"] = "2026-01-01T00:00:00Z"
    stored = api.get("HTTPRoute", "default", "shop") or {}
    stored["status"]["parents"][0]["conditions"] = list(before.values())
    api.apply(stored)  # as if written long ago
    changed = route()
    changed["spec"]["rules"][0]["timeouts"] = {"request": "10s"}  # a new generation, same status
    changed["status"] = stored["status"]
    api.apply(changed)
    assert applied(api, tmp_path, publisher) == 1
    after = {item["type"]: item for item in our_parents(api, "shop")[0]["conditions"]}
    assert {item["observedGeneration"] for item in after.values()} == {2}
    assert {item["lastTransitionTime"] for item in after.values()} == {"2026-01-01T00:00:00Z"}


def test_other_controllers_parents_entries_are_preserved(api: KubeApi, tmp_path: Path) -> None:
    theirs = {"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                            "name": "elsewhere"}, "controllerName": "example.com/other",
              "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                              "message": "", "observedGeneration": 1,
                              "lastTransitionTime": "2026-01-01T00:00:00Z"}]}  # fmt: skip
    shop = route()
    shop["spec"]["parentRefs"].append({"name": "elsewhere"})
    shop["status"] = {"parents": [theirs]}
    api.apply(*world(shop))
    applied(api, tmp_path, writer(api, tmp_path))
    parents = status_of(api, "HTTPRoute", "shop")["parents"]
    assert parents[0] == theirs
    assert [item["controllerName"] for item in parents] == ["example.com/other", CONTROLLER]


def test_an_object_changed_or_deleted_before_the_write_is_written_on_the_next_pass(
    api: KubeApi, tmp_path: Path
) -> None:
    api.apply(*world(route(), route("gone")))
    publisher = writer(api, tmp_path)
    loaded = load_cluster(ClusterOptions(kubeconfig=api.kubeconfig(tmp_path)), SETTINGS)
    publisher.after_apply(normalize(Inventory.build(loaded.manifests), SETTINGS), loaded)
    api.apply(route())  # a new resourceVersion: the copy read above is stale (409)
    api.delete("HTTPRoute", "default", "gone")  # 404
    assert publisher.publish_pending() == 2  # the GatewayClass and the Gateway
    assert our_parents(api, "shop") == []
    assert publisher.publish_pending() == 0, "a refused write is not retried from the same copy"
    assert applied(api, tmp_path, publisher) == 2  # the route and the Gateway's attachedRoutes
    assert conditions(our_parents(api, "shop")[0])["Accepted"] == ("True", "Accepted")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_the_lease_holder_writes_gateway_statuses_without_ingress_publishing(
    api: KubeApi, tmp_path: Path
) -> None:
    api.apply(*world(route()))
    publisher = writer(api, tmp_path)
    publisher.start()
    try:
        time.sleep(0.3)
        assert api.requests_for("leases") == [], "no Lease is taken with nothing to write"
        loaded = load_cluster(ClusterOptions(kubeconfig=api.kubeconfig(tmp_path)), SETTINGS)
        publisher.after_apply(normalize(Inventory.build(loaded.manifests), SETTINGS), loaded)
        wait_for(lambda: bool(our_parents(api, "shop")), "the route's status")
        assert publisher.leading
        assert not [r for r in api.writes() if "/ingresses/" in r.path], "Ingresses untouched"
    finally:
        publisher.stop()


RBAC = Path(__file__).resolve().parent.parent / "samples" / "kubernetes" / "rbac.yaml"


def test_the_sample_rbac_grants_every_status_write(api: KubeApi, tmp_path: Path) -> None:
    api.apply(*world(route()))
    assert applied(api, tmp_path, writer(api, tmp_path)) == 3
    rules = [rule for document in yaml.safe_load_all(RBAC.read_text())
             for rule in document.get("rules", [])]  # fmt: skip
    patches = status_patches(api)
    assert len(patches) == 3
    for written in patches:  # /apis/GROUP/VERSION/[namespaces/NS/]PLURAL/NAME/status
        parts = written.strip("/").split("/")
        group, plural = parts[1], parts[-3]
        assert any(group in rule["apiGroups"] and f"{plural}/status" in rule["resources"]
                   and "patch" in rule["verbs"] for rule in rules), written  # fmt: skip


def _watch_reads_the_gateway_api(api: KubeApi, tmp_path: Path) -> bool:
    """Whether ``watch --from-cluster``'s source holds the Gateway API objects (it does once
    its informers read those kinds)."""
    source = ClusterSource(ClusterOptions(kubeconfig=api.kubeconfig(tmp_path)), SETTINGS,
                           sync_timeout=5.0)  # fmt: skip
    source.start(lambda reason: None)
    try:
        return any(item.kind == "HTTPRoute" for item in source.snapshot().manifests)
    finally:
        source.stop()


def test_watch_writes_the_status_of_what_nginx_serves_once(
    nginx_runner: NginxRunner, tmp_path: Path, api: KubeApi
) -> None:
    with started_backends("shop") as echo:
        api.apply(*echo_service(echo["shop"]), gateway_class(),
                  gateway("web", listeners=[listener("http", 80)]),
                  http_route("shop", parents=[parent("web")], hostnames=["shop.test"],
                             rules=[route_rule(None, [backend_ref("shop")])]))  # fmt: skip
        if not _watch_reads_the_gateway_api(api, tmp_path):
            pytest.skip("watch --from-cluster does not read the Gateway API kinds yet")
        arguments = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)),
                     "--publish-status-address", "203.0.113.9",
                     "--election-namespace", "ingress2nginx")  # fmt: skip
        with running_sidecar(nginx_runner, tmp_path, *arguments, sources=[]) as site:
            assert site.served_by("/", "shop.test") == "shop"
            site.wait_for(lambda: our_parents(api, "shop"), "the route's status")
            (entry,) = our_parents(api, "shop")
            assert conditions(entry)["Accepted"] == ("True", "Accepted")
            gateway_status = status_of(api, "Gateway", "web")
            assert conditions(gateway_status)["Programmed"] == ("True", "Programmed")
            assert gateway_status["addresses"] == [{"type": "IPAddress", "value": "203.0.113.9"}]
            written = len(status_patches(api))
            assert site.stays(lambda: len(status_patches(api)) == written, 1.5), status_patches(api)
            assert site.metric("ingress2nginx_reloads_total") == 0, "a status write is no reload"
