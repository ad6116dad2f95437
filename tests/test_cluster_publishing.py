"""Ingress status (issue 8): the served Ingresses get the published address, others lose it,
and with several replicas only the Lease holder writes — against the API emulator over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e import echo_service, ingress, path, rule, started_backends, to
from harness import NginxRunner
from kubeapi import KubeApi
from watchrun import running_sidecar

from ingress2nginx.cluster.connecting import connect
from ingress2nginx.cluster.publishing import PublishOptions, StatusPublisher, service_addresses
from ingress2nginx.core.objects import Manifest


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def status_of(api: KubeApi, name: str, namespace: str = "default") -> list[dict[str, str]]:
    found = api.get("Ingress", namespace, name) or {}
    return ((found.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []


def manifest(api: KubeApi, name: str) -> Manifest:
    body = api.get("Ingress", "default", name)
    assert body is not None
    return Manifest("Ingress", "default", name, body, "cluster")


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi() as server:
        yield server


def publisher(api: KubeApi, tmp_path: Path, identity: str) -> StatusPublisher:
    options = PublishOptions(
        service=None, addresses=("203.0.113.7",), election_namespace="ingress2nginx",
        identity=identity, lease_seconds=1, interval=0.1,
    )  # fmt: skip
    return StatusPublisher(connect(api.kubeconfig(tmp_path)), options)


def test_served_ingresses_get_the_published_address(api: KubeApi, tmp_path: Path) -> None:
    api.apply(ingress("web", rules=[rule("web.test", path("/", to("web")))]))
    writer = publisher(api, tmp_path, "pod-a")
    assert writer._election.try_lead()
    assert writer.publish([manifest(api, "web")], []) == 1
    assert status_of(api, "web") == [{"ip": "203.0.113.7"}]


def test_an_unchanged_status_is_not_written_again(api: KubeApi, tmp_path: Path) -> None:
    api.apply(ingress("web", rules=[rule("web.test", path("/", to("web")))]))
    writer = publisher(api, tmp_path, "pod-a")
    writer.publish([manifest(api, "web")], [])
    assert writer.publish([manifest(api, "web")], []) == 0


def test_an_ingress_no_longer_served_loses_the_address(api: KubeApi, tmp_path: Path) -> None:
    api.apply(ingress("web", rules=[rule("web.test", path("/", to("web")))]))
    writer = publisher(api, tmp_path, "pod-a")
    writer.publish([manifest(api, "web")], [])
    writer.publish([], [manifest(api, "web")])
    assert status_of(api, "web") == []


def test_another_controllers_status_is_left_alone(api: KubeApi, tmp_path: Path) -> None:
    theirs = ingress("theirs", rules=[rule("t.test", path("/", to("t")))], class_name="other")
    theirs["status"] = {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}}
    api.apply(theirs)
    publisher(api, tmp_path, "pod-a").publish([], [manifest(api, "theirs")])
    assert status_of(api, "theirs") == [{"ip": "198.51.100.1"}]


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (
            {
                "spec": {"type": "LoadBalancer"},
                "status": {
                    "loadBalancer": {
                        "ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.net"}]
                    }
                },
            },
            [{"ip": "192.0.2.10"}, {"hostname": "lb.example.net"}],
        ),
        ({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.42"}}, [{"ip": "10.96.0.42"}]),
        (
            {"spec": {"type": "NodePort", "clusterIP": "10.96.0.42", "externalIPs": ["192.0.2.5"]}},
            [{"ip": "192.0.2.5"}],
        ),
        (
            {"spec": {"type": "ExternalName", "externalName": "edge.example.net"}},
            [{"hostname": "edge.example.net"}],
        ),
    ],
    ids=["load-balancer", "cluster-ip", "external-ips", "external-name"],
)
def test_a_service_publishes_where_it_is_reachable(
    service: dict[str, object], expected: list[dict[str, str]]
) -> None:
    assert service_addresses(service) == expected


def test_publish_service_reads_the_load_balancer_address(api: KubeApi, tmp_path: Path) -> None:
    api.apply(
        ingress("web", rules=[rule("web.test", path("/", to("web")))]),
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "edge", "namespace": "ingress2nginx"},
         "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
         "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.80"}]}}},
    )  # fmt: skip
    options = PublishOptions(service=("ingress2nginx", "edge"), addresses=(),
                             election_namespace="ingress2nginx", identity="pod-a")  # fmt: skip
    writer = StatusPublisher(connect(api.kubeconfig(tmp_path)), options)
    writer.publish([manifest(api, "web")], [])
    assert status_of(api, "web") == [{"ip": "192.0.2.80"}]


def test_only_the_lease_holder_writes_and_another_takes_over_when_it_stops(
    api: KubeApi, tmp_path: Path
) -> None:
    api.apply(ingress("web", rules=[rule("web.test", path("/", to("web")))]))
    first, second = publisher(api, tmp_path, "pod-a"), publisher(api, tmp_path, "pod-b")
    first.start()
    wait_for(lambda: first.leading, "pod-a to lead")
    second.start()
    try:
        time.sleep(0.5)
        assert not second.leading, "two leaders at once"
        lease = api.get("Lease", "ingress2nginx", "ingress2nginx-status") or {}
        assert lease["spec"]["holderIdentity"] == "pod-a"
        first.stop()
        wait_for(lambda: second.leading, "pod-b to take over an expired lease")
        lease = api.get("Lease", "ingress2nginx", "ingress2nginx-status") or {}
        assert lease["spec"]["holderIdentity"] == "pod-b"
        assert lease["spec"]["leaseTransitions"] == 1
    finally:
        first.stop()
        second.stop()


def test_watch_publishes_the_status_of_what_it_serves(
    nginx_runner: NginxRunner, tmp_path: Path, api: KubeApi
) -> None:
    with started_backends("web") as echo:
        api.apply(*echo_service(echo["web"]),
                  ingress("web", rules=[rule("web.test", path("/", to("web")))]),
                  ingress("theirs", rules=[rule("t.test", path("/", to("web")))],
                          class_name="other"))  # fmt: skip
        arguments = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)),
                     "--publish-status-address", "203.0.113.9",
                     "--election-namespace", "ingress2nginx")  # fmt: skip
        with running_sidecar(nginx_runner, tmp_path, *arguments, sources=[]) as site:
            assert site.served_by("/", "web.test") == "web"
            wait_for(lambda: status_of(api, "web") == [{"ip": "203.0.113.9"}], "the status")
            assert status_of(api, "theirs") == []
