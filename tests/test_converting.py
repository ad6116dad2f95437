"""Legacy Ingresses come out as the API server would serve them in networking.k8s.io/v1."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from golden_cases import run_cli

from ingress2nginx.sources.converting import to_v1_ingress, v1_fields

LEGACY_VERSIONS = ["networking.k8s.io/v1beta1", "extensions/v1beta1"]


def legacy_ingress(api_version: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {"a": "b"}},
        "spec": spec,
    }


def http_rule(*paths: dict[str, Any], host: str = "shop.example.com") -> dict[str, Any]:
    return {"host": host, "http": {"paths": list(paths)}}


@pytest.mark.parametrize("api_version", LEGACY_VERSIONS)
def test_api_version_becomes_v1(api_version: str) -> None:
    converted = to_v1_ingress(legacy_ingress(api_version))

    assert converted["apiVersion"] == "networking.k8s.io/v1"
    assert converted["kind"] == "Ingress"
    assert converted["metadata"] == {
        "name": "web",
        "namespace": "shop",
        "annotations": {"a": "b"},
    }


@pytest.mark.parametrize("api_version", LEGACY_VERSIONS)
def test_spec_backend_becomes_default_backend(api_version: str) -> None:
    body = legacy_ingress(api_version, backend={"serviceName": "fallback", "servicePort": 8080})

    spec = to_v1_ingress(body)["spec"]

    assert spec == {"defaultBackend": {"service": {"name": "fallback", "port": {"number": 8080}}}}


def test_integer_service_port_becomes_port_number() -> None:
    path = {"path": "/", "pathType": "Prefix", "backend": {"serviceName": "a", "servicePort": 80}}

    converted = to_v1_ingress(legacy_ingress(LEGACY_VERSIONS[0], rules=[http_rule(path)]))

    backend = converted["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "a", "port": {"number": 80}}}


def test_string_service_port_becomes_port_name() -> None:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"serviceName": "a", "servicePort": "http"},
    }

    converted = to_v1_ingress(legacy_ingress(LEGACY_VERSIONS[1], rules=[http_rule(path)]))

    backend = converted["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "a", "port": {"name": "http"}}}


def test_quoted_numeric_service_port_stays_a_port_name_as_in_the_api_server() -> None:
    body = legacy_ingress(LEGACY_VERSIONS[0], backend={"serviceName": "a", "servicePort": "80"})

    assert to_v1_ingress(body)["spec"]["defaultBackend"]["service"]["port"] == {"name": "80"}


def test_backend_without_service_port_gets_an_empty_port() -> None:
    body = legacy_ingress(LEGACY_VERSIONS[0], backend={"serviceName": "a"})

    assert to_v1_ingress(body)["spec"]["defaultBackend"] == {"service": {"name": "a", "port": {}}}


def test_undecodable_service_port_is_carried_for_validation_to_name() -> None:
    body = legacy_ingress(LEGACY_VERSIONS[0], backend={"serviceName": "a", "servicePort": 8.5})

    assert to_v1_ingress(body)["spec"]["defaultBackend"]["service"]["port"] == {"number": 8.5}


def test_resource_backend_is_kept_and_v1_keys_under_a_legacy_version_are_dropped() -> None:
    resource = {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "static"}
    body = legacy_ingress(
        LEGACY_VERSIONS[0],
        backend={"resource": resource, "service": {"name": "x", "port": {"number": 1}}},
    )

    assert to_v1_ingress(body)["spec"]["defaultBackend"] == {"resource": resource}


def test_missing_path_type_becomes_implementation_specific() -> None:
    untyped = {"path": "/a", "backend": {"serviceName": "a", "servicePort": 80}}
    typed = {"path": "/b", "pathType": "Exact", "backend": {"serviceName": "b", "servicePort": 80}}

    converted = to_v1_ingress(legacy_ingress(LEGACY_VERSIONS[1], rules=[http_rule(untyped, typed)]))

    paths = converted["spec"]["rules"][0]["http"]["paths"]
    assert [path["pathType"] for path in paths] == ["ImplementationSpecific", "Exact"]
    assert [path["path"] for path in paths] == ["/a", "/b"]


def test_class_name_tls_and_hosts_are_carried_over() -> None:
    tls = [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    body = legacy_ingress(
        LEGACY_VERSIONS[0],
        ingressClassName="nginx",
        tls=tls,
        rules=[{"host": "bare.example.com"}],
    )

    spec = to_v1_ingress(body)["spec"]

    assert spec == {
        "ingressClassName": "nginx",
        "tls": tls,
        "rules": [{"host": "bare.example.com"}],
    }


def test_malformed_parts_are_carried_over_unchanged() -> None:
    body = legacy_ingress(LEGACY_VERSIONS[0], rules="nonsense", backend=["x"])

    spec = to_v1_ingress(body)["spec"]

    assert spec == {"rules": "nonsense", "defaultBackend": ["x"]}


def test_the_input_is_never_mutated() -> None:
    path = {"path": "/", "backend": {"serviceName": "a", "servicePort": 80}}
    body = legacy_ingress(
        LEGACY_VERSIONS[0],
        backend={"serviceName": "b", "servicePort": "http"},
        rules=[http_rule(path)],
    )
    before = copy.deepcopy(body)

    to_v1_ingress(body)

    assert body == before


def test_a_v1_ingress_comes_back_unchanged() -> None:
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "spec": {"backend": 1}}

    assert to_v1_ingress(body) == body


V1_BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


@pytest.mark.parametrize("api_version", LEGACY_VERSIONS)
def test_v1_fields_in_a_legacy_ingress_are_named_with_their_effect(api_version: str) -> None:
    body = legacy_ingress(
        api_version,
        defaultBackend=V1_BACKEND,
        rules=[http_rule({"path": "/", "backend": V1_BACKEND},
                         {"path": "/b", "backend": {**V1_BACKEND, "serviceName": "web",
                                                    "servicePort": 80}})],
    )  # fmt: skip
    found = v1_fields(body)
    assert [(fatal, field) for fatal, field, _ in found] == [
        (False, "spec.defaultBackend"),
        (True, "spec.rules[0].http.paths[0].backend.service"),
        (False, "spec.rules[0].http.paths[1].backend.service"),
    ]
    assert all("networking.k8s.io/v1 field, " in reason and api_version in reason
               for _, _, reason in found)  # fmt: skip
    assert "serviceName and servicePort" in found[1][2]


def test_a_legacy_ingress_written_for_its_version_has_no_v1_fields() -> None:
    backend = {"serviceName": "web", "servicePort": 80}
    body = legacy_ingress(LEGACY_VERSIONS[0], backend=backend,
                          rules=[http_rule({"path": "/", "backend": backend})])  # fmt: skip
    assert v1_fields(body) == ()
    assert v1_fields({**body, "apiVersion": "networking.k8s.io/v1"}) == ()


def test_check_names_the_v1_field_before_the_backend_left_without_a_service(
    tmp_path: Path,
) -> None:
    body = legacy_ingress(LEGACY_VERSIONS[0], ingressClassName="nginx",
                          rules=[http_rule({"path": "/", "backend": V1_BACKEND})])  # fmt: skip
    source = tmp_path / "legacy.yaml"
    source.write_text(yaml.safe_dump(body))
    done = run_cli(["check", str(source)])
    lines = done.messages.splitlines()
    assert lines[0] == (
        "error: ingress shop/web: spec.rules[0].http.paths[0].backend.service: is a"
        " networking.k8s.io/v1 field, dropped in apiVersion networking.k8s.io/v1beta1, where a"
        " backend is serviceName and servicePort: write those, or change apiVersion to"
        " networking.k8s.io/v1"
    )
    assert "rejected" in done.messages and done.code == 1
