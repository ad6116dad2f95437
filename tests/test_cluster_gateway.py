"""Gateway API objects read from the API (``--from-cluster``), through the real client and CLI
against the emulator in tests/kubeapi.py: the same objects from files and from the API give
the same config; a cluster without the Gateway API's resources is no error; only the Secrets
served listeners may use are fetched, by name; Namespaces are listed only for selectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import manifest_text, service
from gateway_objects import (
    backend_ref,
    gateway,
    gateway_class,
    grpc_route,
    http_route,
    listener,
    method_match,
    namespace,
    parent,
    route_rule,
)
from golden_cases import Rendered, run_cli
from kubeapi import KubeApi
from tls_secrets import tls_secret

GATEWAY_KINDS = {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi() as server:
        yield server


@pytest.fixture
def kubeconfig(api: KubeApi, tmp_path: Path) -> Path:
    return api.kubeconfig(tmp_path)


def from_cluster(command: str, kubeconfig: Path, *args: str) -> Rendered:
    return run_cli([command, "--from-cluster", "--kubeconfig", str(kubeconfig), *args])


def _objects() -> list[dict[str, object]]:
    listeners = [
        listener("http", 80, namespaces="Selector", selector={"matchLabels": {"team": "a"}}),
        listener("https", 443, hostname="secure.test", secret="secure-tls", namespaces="All"),
    ]
    return [
        gateway_class(),
        gateway("web", namespace="infra", listeners=listeners),
        namespace("a", {"team": "a"}),
        http_route(
            "shop",
            namespace="a",
            parents=[parent("web", namespace="infra")],
            hostnames=["shop.test"],
            rules=[route_rule(None, [backend_ref("shop")])],
        ),
        grpc_route(
            "greeter",
            namespace="infra",
            parents=[parent("web", namespace="infra", section="https")],
            hostnames=["secure.test"],
            rules=[route_rule([method_match("helloworld.Greeter")], [backend_ref("greeter")])],
        ),
        service("shop", "a"),
        service("greeter", "infra"),
        tls_secret("infra", "secure-tls", ["secure.test"]),
        tls_secret("infra", "unused-tls", ["unused.test"]),
    ]


def test_gateway_api_objects_from_the_api_give_the_config_files_give(
    api: KubeApi, kubeconfig: Path, tmp_path: Path
) -> None:
    objects = _objects()
    api.apply(*objects)
    source = tmp_path / "all.yaml"
    source.write_text(manifest_text(objects))
    from_files = run_cli(["render", str(source)])
    from_api = from_cluster("render", kubeconfig)
    assert from_api.code == from_files.code == 0, from_api.messages
    assert from_api.config == from_files.config
    assert "server_name shop.test" in from_api.config
    assert "tls-infra_secure-tls.crt" in from_api.config
    assert "grpc_pass grpc://" in from_api.config, "GRPCRoutes are read too"


def test_only_the_secrets_of_served_listeners_are_fetched_and_namespaces_for_selectors(
    api: KubeApi, kubeconfig: Path
) -> None:
    api.apply(*_objects())
    assert from_cluster("render", kubeconfig).code == 0
    paths = {request.path for request in api.requests}
    assert "/api/v1/namespaces/infra/secrets/secure-tls" in paths
    assert not any("unused-tls" in path for path in paths)
    assert "/api/v1/namespaces" in paths


def test_a_cluster_without_the_gateway_api_still_serves_its_ingresses(
    api: KubeApi, kubeconfig: Path
) -> None:
    api.uninstalled |= GATEWAY_KINDS
    api.apply(service("shop", "a"))
    result = from_cluster("render", kubeconfig)
    assert result.code == 0, result.messages
    assert "server_name _;" in result.config
