"""records.py: which addresses answer a Service port's SRV name in dns mode, with the
EndpointSlice conditions as Kubernetes defines them (ready; else serving while terminating)."""

from __future__ import annotations

from typing import Any

from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.records import (
    Target,
    Unavailable,
    address_of,
    all_records,
    condition_of,
    service_records,
    srv_name,
    target_host,
)

DOMAIN = "cluster.local"
STAND_IN = Unavailable("127.0.0.1", 5354)
NAME = srv_name("shop", "web", 80, DOMAIN)


def manifest(kind: str, body: dict[str, Any], name: str = "web") -> Manifest:
    body = {"kind": kind, "metadata": {"name": name, "namespace": "shop"}, **body}
    return Manifest(kind, "shop", name, body, "test")


def service(ports: list[dict[str, Any]] | None = None, **spec: Any) -> Manifest:
    ports = ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080}]
    return manifest("Service", {"spec": {"ports": ports, **spec}})


def endpoint_slice(endpoints: list[dict[str, Any]], name: str = "web-1") -> Manifest:
    body = {
        "addressType": "IPv4",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "web"}},
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }
    return manifest("EndpointSlice", body, name)


def ep(address: str, **conditions: bool) -> dict[str, Any]:
    return {"addresses": [address], "conditions": conditions}


def records_of(*slices: Manifest, legacy: Manifest | None = None, svc: Manifest | None = None):
    return service_records(svc or service(), list(slices), legacy, DOMAIN, STAND_IN)


def test_the_srv_name_is_the_service_port_number_under_the_service_host() -> None:
    assert NAME == "_80._tcp.web.shop.svc.cluster.local"


def test_ready_endpoints_at_their_target_port_sorted_by_address() -> None:
    found = records_of(endpoint_slice([ep("10.0.0.10"), ep("10.0.0.9", ready=True)]))
    assert found == {NAME: (Target("10.0.0.9", 8080), Target("10.0.0.10", 8080))}


def test_not_ready_and_terminating_endpoints_are_left_out_while_one_is_ready() -> None:
    slices = endpoint_slice(
        [
            ep("10.0.0.1", ready=True),
            ep("10.0.0.2", ready=False),
            ep("10.0.0.3", ready=False, serving=True, terminating=True),
        ]
    )
    assert records_of(slices) == {NAME: (Target("10.0.0.1", 8080),)}


def test_with_none_ready_serving_terminating_endpoints_take_over() -> None:
    slices = endpoint_slice(
        [
            ep("10.0.0.2", ready=False, serving=False),
            ep("10.0.0.3", ready=False, serving=True, terminating=True),
            ep("10.0.0.4", ready=False, serving=False, terminating=True),
        ]
    )
    assert records_of(slices) == {NAME: (Target("10.0.0.3", 8080),)}


def test_conditions_left_out_mean_ready_serving_and_not_terminating() -> None:
    assert condition_of(None) == "ready"
    assert condition_of({}) == "ready"
    assert condition_of({"ready": False}) == "out"
    assert condition_of({"ready": False, "terminating": True}) == "out"  # serving defers to ready
    assert condition_of({"ready": False, "serving": True, "terminating": True}) == "draining"


def test_slices_of_one_service_merge_each_address_once() -> None:
    one = endpoint_slice([ep("10.0.0.1"), ep("10.0.0.2")], "web-1")
    two = endpoint_slice([ep("10.0.0.2"), ep("10.0.0.3")], "web-2")
    assert [t.address for t in records_of(one, two)[NAME]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_no_endpoint_left_answers_with_the_stand_in() -> None:
    assert records_of(endpoint_slice([ep("10.0.0.1", ready=False)])) == {NAME: (STAND_IN.target(),)}


def test_no_endpoint_object_at_all_is_the_cluster_ip_else_the_stand_in() -> None:
    assert records_of(svc=service(clusterIP="10.96.0.7")) == {NAME: (Target("10.96.0.7", 80),)}
    assert records_of(svc=service(clusterIP="None")) == {NAME: (STAND_IN.target(),)}


def test_legacy_endpoints_ready_addresses_only() -> None:
    legacy = manifest(
        "Endpoints",
        {
            "subsets": [
                {
                    "addresses": [{"ip": "10.0.0.5"}],
                    "notReadyAddresses": [{"ip": "10.0.0.6"}],
                    "ports": [{"name": "http", "port": 9090}],
                }
            ]
        },
    )
    assert records_of(legacy=legacy) == {NAME: (Target("10.0.0.5", 9090),)}


def test_every_tcp_port_gets_a_name_and_external_names_get_none() -> None:
    ports = [
        {"name": "http", "port": 80},
        {"name": "admin", "port": 81},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]
    found = records_of(endpoint_slice([ep("10.0.0.1")]), svc=service(ports))
    assert set(found) == {NAME, srv_name("shop", "web", 81, DOMAIN)}
    assert found[srv_name("shop", "web", 81, DOMAIN)] == (STAND_IN.target(),)  # no "admin" port
    external = service(type="ExternalName", externalName="example.com")
    assert records_of(svc=external) == {}


def test_all_records_reads_each_service_with_its_own_slices() -> None:
    found = all_records(
        [service()], {("shop", "web"): [endpoint_slice([ep("10.0.0.1")])]}, {}, DOMAIN, STAND_IN
    )
    assert found == {NAME: (Target("10.0.0.1", 8080),)}


def test_target_hosts_spell_their_address_and_read_back() -> None:
    for address in ("10.1.2.3", "fd00::1", "::1"):
        host = target_host(address, DOMAIN)
        assert host.endswith(".endpoint.cluster.local")
        assert str(address_of(host, DOMAIN)) == address
    assert target_host("10.1.2.3", DOMAIN) == "10-1-2-3.endpoint.cluster.local"
    assert str(address_of(target_host("10.1.2.3", DOMAIN, 8080), DOMAIN)) == "10.1.2.3"
    assert address_of("10-1-2-3.endpoint.other.local", DOMAIN) is None
    assert address_of("a.10-1-2-3.endpoint.cluster.local", DOMAIN) is None
    assert address_of("web.shop.svc.cluster.local", DOMAIN) is None
