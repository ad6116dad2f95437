"""``render``/``check``/``explain --from-cluster``: one list of the API, through the real CLI.

Every test runs the real ``kubernetes`` client against the emulator in tests/kubeapi.py over
HTTP on loopback, configured by a kubeconfig file the test writes, exactly as a user would.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import (
    echo_service,
    endpoint_slice,
    ingress,
    ingress_class,
    manifest_text,
    path,
    rule,
    service,
    started_backends,
    to,
)
from golden_cases import Rendered, run_cli
from harness import LOOPBACK, Nginx, free_port, make_prefix, request
from kubeapi import TOKEN, KubeApi
from tls_secrets import tls_secret

from ingress2nginx.cluster import connecting as cluster_connecting
from ingress2nginx.cluster import loading as cluster_loading
from ingress2nginx.cluster.connecting import connect


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi() as server:
        yield server


@pytest.fixture
def kubeconfig(api: KubeApi, tmp_path: Path) -> Path:
    return api.kubeconfig(tmp_path)


def from_cluster(command: str, kubeconfig: Path, *args: str) -> Rendered:
    return run_cli([command, "--from-cluster", "--kubeconfig", str(kubeconfig), *args])


def explained_hosts(result: Rendered) -> set[str]:
    return {line.split()[0] for line in result.config.splitlines()[1:] if line.strip()}


def test_render_from_cluster_routes_through_real_nginx_to_what_the_api_holds(
    api: KubeApi, kubeconfig: Path, nginx_binary: str
) -> None:
    with started_backends("api", "web") as echo:
        api.apply(
            ingress(
                "site",
                rules=[rule("a.test", path("/api", to("api")), path("/", to("web")))],
            ),
            *echo_service(echo["api"]),
            *echo_service(echo["web"]),
        )
        port, prefix = free_port(), make_prefix()
        listen = ["--listen-address", LOOPBACK, "--http-port", str(port)]
        rendered = from_cluster("render", kubeconfig, *listen, "--runtime-dir", str(prefix))
        assert rendered.code == 0, rendered.messages
        with Nginx(rendered.config, [port], prefix=prefix, binary=nginx_binary):
            assert request(port, "/api/x", host="a.test").backend == "api"
            assert request(port, "/other", host="a.test").backend == "web"
            assert request(port, "/", host="b.test").status == 404


def test_the_same_objects_from_files_and_from_the_api_give_the_same_config(
    api: KubeApi, kubeconfig: Path
) -> None:
    with started_backends("api", "web") as echo:
        shop = ingress(
            "shop",
            rules=[rule("shop.test", path("/api", to("api")), path("/", to("web")))],
            created="2026-01-02T00:00:00Z",
        )
        shop["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
        objects = [
            shop,
            ingress(
                "blog", rules=[rule(None, path("/", to("web")))], created="2026-01-03T00:00:00Z"
            ),
            ingress_class("nginx", default=True),
            *echo_service(echo["api"]),
            *echo_service(echo["web"]),
            tls_secret("default", "shop-tls", ["shop.test"]),
        ]
        for obj in objects:
            obj["metadata"].setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        api.apply(*objects)
        from_files = run_cli(["render", "-"], manifest_text(objects))
        from_api = from_cluster("render", kubeconfig)
    assert from_api.code == from_files.code == 0
    assert from_api.config == from_files.config
    assert "ssl_certificate" in from_api.config


def test_the_api_is_read_with_the_kubeconfig_token_and_only_the_needed_kinds_are_listed(
    api: KubeApi, kubeconfig: Path
) -> None:
    api.apply(ingress("web", rules=[rule("a.test", path("/", to("web")))]), service("web"))
    assert from_cluster("render", kubeconfig).code == 0
    assert {r.authorization for r in api.requests} == {f"Bearer {TOKEN}"}
    listed = {r.path for r in api.requests}
    assert listed == {
        "/apis/networking.k8s.io/v1/ingressclasses",
        "/apis/networking.k8s.io/v1/ingresses",
        "/api/v1/services",
        "/apis/discovery.k8s.io/v1/endpointslices",
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
        "/apis/gateway.networking.k8s.io/v1/gateways",
        "/apis/gateway.networking.k8s.io/v1/httproutes",
        "/apis/gateway.networking.k8s.io/v1/grpcroutes",
        "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
    }


def test_the_client_model_classes_are_never_built(
    api: KubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.client import ApiClient

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a response was deserialized into model objects")

    monkeypatch.setattr(ApiClient, "deserialize", refuse)
    monkeypatch.setattr(ApiClient, "response_deserialize", refuse)
    served = ingress("web", rules=[rule("a.test", path("/", to("web")))])
    served["spec"]["tls"] = [{"hosts": ["a.test"], "secretName": "web-tls"}]
    api.apply(served, service("web"), tls_secret("default", "web-tls", ["a.test"]))
    result = from_cluster("render", kubeconfig)
    assert result.code == 0, result.messages
    assert "server_name a.test" in result.config


@pytest.mark.parametrize("generic", [True, False], ids=["generic", "typed"])
def test_both_request_styles_read_the_same_objects_from_the_same_paths(
    api: KubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch, generic: bool
) -> None:
    monkeypatch.setattr(cluster_connecting, "GENERIC", generic)
    monkeypatch.setattr(cluster_loading, "PAGE_SIZE", 1)
    served = ingress("web", rules=[rule("a.test", path("/", to("web")))])
    served["spec"]["tls"] = [{"hosts": ["a.test"], "secretName": "web-tls"}]
    api.apply(served, ingress("api", rules=[rule("b.test", path("/", to("web")))]))
    api.apply(service("web"), tls_secret("default", "web-tls", ["a.test"]))
    result = from_cluster("render", kubeconfig, "--namespace", "default")
    assert result.code == 0, result.messages
    assert "server_name a.test" in result.config and "server_name b.test" in result.config
    assert "ssl_certificate" in result.config
    assert [(r.path, dict(r.query)) for r in api.requests_for("ingresses")] == [
        ("/apis/networking.k8s.io/v1/namespaces/default/ingresses", {"limit": "1"}),
        (
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
            {"limit": "1", "continue": "1"},
        ),
    ]
    assert [r.path for r in api.requests_for("secrets")] == [
        "/api/v1/namespaces/default/secrets/web-tls"
    ]


def test_large_lists_are_read_page_by_page(
    api: KubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_loading, "PAGE_SIZE", 2)
    for index in range(5):
        api.apply(ingress(f"web{index}", rules=[rule(f"h{index}.test", path("/", to("web")))]))
    result = from_cluster("explain", kubeconfig)
    assert explained_hosts(result) >= {f"h{index}.test" for index in range(5)}
    pages = [r for r in api.requests_for("ingresses")]
    assert [r.query.get("continue") for r in pages] == [None, "2", "4"]


def test_only_secrets_of_served_ingresses_are_fetched_by_name_and_secrets_are_never_listed(
    api: KubeApi, kubeconfig: Path
) -> None:
    served = ingress("shop", rules=[rule("shop.test", path("/", to("shop")))])
    served["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    other = ingress("other", class_name="traefik", rules=[rule("o.test", path("/", to("o")))])
    other["spec"]["tls"] = [{"hosts": ["o.test"], "secretName": "other-tls"}]
    api.apply(
        served,
        other,
        tls_secret("default", "shop-tls", ["shop.test"]),
        tls_secret("default", "other-tls", ["o.test"]),
        tls_secret("default", "unrelated", ["u.test"]),
    )
    result = from_cluster("check", kubeconfig)
    assert "not in the input" not in result.messages  # shop-tls was read
    secret_requests = {r.path for r in api.requests_for("secrets")}
    assert secret_requests == {"/api/v1/namespaces/default/secrets/shop-tls"}


def test_secrets_named_by_annotations_are_read_from_other_namespaces_only_when_allowed(
    api: KubeApi, kubeconfig: Path, tmp_path: Path
) -> None:
    prefix = "nginx.ingress.kubernetes.io/"
    annotations = {
        f"{prefix}auth-type": "basic",
        f"{prefix}auth-secret": "htpasswd",
        f"{prefix}backend-protocol": "HTTPS",
        f"{prefix}proxy-ssl-secret": "default/backend-ca",
        f"{prefix}auth-tls-secret": "kube-system/someone-elses-ca",
    }
    api.apply(ingress("auth", rules=[rule("a.test", path("/", to("w")))], annotations=annotations))
    own = {
        "/api/v1/namespaces/default/secrets/htpasswd",
        "/api/v1/namespaces/default/secrets/backend-ca",
    }
    from_cluster("check", kubeconfig)
    assert {r.path for r in api.requests_for("secrets")} == own
    allowed = tmp_path / "config.yaml"
    allowed.write_text('allow-cross-namespace-resources: "true"\n')
    api.requests.clear()
    from_cluster("check", kubeconfig, "--config", str(allowed))
    other = "/api/v1/namespaces/kube-system/secrets/someone-elses-ca"
    assert {r.path for r in api.requests_for("secrets")} == own | {other}


def test_a_secret_the_api_refuses_is_a_warning_and_its_hosts_get_the_default_certificate(
    api: KubeApi, kubeconfig: Path
) -> None:
    served = ingress("shop", rules=[rule("shop.test", path("/", to("shop")))])
    served["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    secret = tls_secret("default", "shop-tls", ["shop.test"])
    api.apply(served, secret)
    api.forbid("/api/v1/namespaces/default/secrets/")
    result = from_cluster("render", kubeconfig)
    assert result.code == 3
    assert "warning: secret default/shop-tls: cannot be read: 403 Forbidden" in result.messages
    assert "server_name shop.test" in result.config
    key = base64.b64decode(secret["data"]["tls.key"]).decode()
    assert key.splitlines()[1] not in result.messages + result.config


def test_namespace_options_list_only_those_namespaces(api: KubeApi, kubeconfig: Path) -> None:
    for namespace in ("a", "b", "c"):
        api.apply(
            ingress(
                "web", namespace=namespace, rules=[rule(f"{namespace}.test", path("/", to("web")))]
            )
        )
    result = from_cluster("explain", kubeconfig, "--namespace", "a", "--namespace", "b")
    assert explained_hosts(result) == {"a.test", "b.test", "*"}
    listed = {r.path for r in api.requests if "ingress" in r.path}
    assert listed == {
        "/apis/networking.k8s.io/v1/ingressclasses",
        "/apis/networking.k8s.io/v1/namespaces/a/ingresses",
        "/apis/networking.k8s.io/v1/namespaces/b/ingresses",
    }


def test_ingress_classes_from_the_api_decide_which_ingresses_are_served(
    api: KubeApi, kubeconfig: Path
) -> None:
    api.apply(
        ingress("classless", class_name=None, rules=[rule("none.test", path("/", to("w")))]),
        ingress("ours", rules=[rule("ours.test", path("/", to("w")))]),
        ingress("theirs", class_name="traefik", rules=[rule("theirs.test", path("/", to("w")))]),
    )
    assert explained_hosts(from_cluster("explain", kubeconfig)) == {"ours.test", "*"}
    api.apply(ingress_class("nginx", default=True))
    served = explained_hosts(from_cluster("explain", kubeconfig))
    assert served == {"ours.test", "none.test", "*"}


def test_endpoints_service_dns_never_reads_endpoint_slices_and_proxies_to_the_service_name(
    api: KubeApi, kubeconfig: Path
) -> None:
    with started_backends("web") as echo:
        api.apply(ingress("web", rules=[rule("a.test", path("/", to("web")))]))
        api.apply(service("web"), endpoint_slice("web", echo["web"]))
        sliced = from_cluster("render", kubeconfig)
        dns = from_cluster("render", kubeconfig, "--endpoints", "service-dns")
        assert f"server {echo['web'].endpoint};" in sliced.config
    assert "web.default.svc.cluster.local:80" in dns.config
    slice_reads = [r for r in api.requests_for("endpointslices")]
    assert len(slice_reads) == 1  # the first render only


def test_an_unreachable_api_is_a_clear_error_with_exit_3(
    api: KubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_loading, "LIST_ATTEMPTS", 1)
    api.go_down()
    result = from_cluster("render", kubeconfig)
    assert result.code == 3
    assert result.messages == (
        f"error: Kubernetes API {api.url}: cannot list ingressclasses: connection refused\n"
    )
    assert result.config == ""


def test_a_refused_list_names_what_was_refused(api: KubeApi, kubeconfig: Path) -> None:
    api.forbid("/apis/networking.k8s.io/v1/ingresses")
    result = from_cluster("render", kubeconfig)
    assert result.code == 3
    assert f"error: Kubernetes API {api.url}: cannot list ingresses: 403 Forbidden" in (
        result.messages
    )
    assert "Traceback" not in result.messages


def test_a_missing_kubeconfig_is_an_error_with_exit_3(tmp_path: Path) -> None:
    result = from_cluster("render", tmp_path / "nowhere")
    assert result.code == 3
    assert "kubeconfig" in result.messages and "no such file" in result.messages


@pytest.mark.parametrize(
    "argv",
    [
        ["render", "--from-cluster", "manifests.yaml"],
        ["render", "--kubeconfig", "k"],
        ["check", "--namespace", "a"],
        ["render", "--endpoints", "service-dns"],
        ["render", "--from-cluster", "--namespace", "Not_A_Namespace"],
    ],
)
def test_cluster_options_that_do_not_fit_together_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(argv)
    assert exit_info.value.code == 2


def test_without_kubeconfig_the_default_kubeconfig_is_used(
    api: KubeApi, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    api.apply(ingress("web", rules=[rule("a.test", path("/", to("web")))]))
    result = run_cli(["explain", "--from-cluster"])
    assert explained_hosts(result) == {"a.test", "*"}


def test_in_cluster_the_service_account_is_used_before_the_default_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("pod-token")
    ca.write_text("not checked before a request")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    connection = connect()
    try:
        assert connection.server == "https://10.96.0.1:443"
    finally:
        connection.close()
