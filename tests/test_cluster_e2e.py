"""The cluster as a source, end to end: emulated API → cache → render → real nginx → requests.

The first config comes from the real ``render --from-cluster``; the following ones from a
`ClusterCache` snapshot through the same normalizer and renderer (what ``watch`` does between
its debounce and its apply), each loaded into nginx with a reload. Requests and TLS handshakes
prove what nginx serves after each change of the emulated API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dnsstub import DnsStub
from e2e import (
    echo_service,
    endpoint_slice,
    ingress,
    path,
    rule,
    service,
    started_backends,
    to,
)
from golden_cases import run_cli
from harness import (
    LOOPBACK,
    EchoBackend,
    Nginx,
    PeerCertificate,
    free_ports,
    make_prefix,
    request,
)
from kubeapi import KubeApi
from tls_secrets import tls_secret

from ingress2nginx.apply.applying import write_certificates
from ingress2nginx.cli.main import build_parser, cluster_options_from, settings_from
from ingress2nginx.cluster.caching import ClusterCache
from ingress2nginx.cluster.watching import WatchTiming
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.certificates import certificate_name
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.render.rendering import Renderer

FAST = WatchTiming(idle_timeout=2.0, backoff_initial=0.05, backoff_max=0.3, secret_refresh=0.3)
WAIT = 5.0


@dataclass
class Sidecar:
    """nginx fed from the emulated API, re-rendered on demand like watch would."""

    api: KubeApi
    cache: ClusterCache
    nginx: Nginx
    settings: Settings
    renderer: Renderer
    http_port: int
    https_port: int
    config: str

    def render(self) -> str:
        loaded = self.cache.snapshot()
        translation = normalize(Inventory.build(loaded.manifests), self.settings)
        write_certificates(translation.config, self.settings.cert_dir)
        return self.renderer.render(translation.config)

    def follow(self, condition: Callable[[str], bool], what: str) -> None:
        """Re-render until `condition(config)` holds (bounded), then reload nginx with it."""
        deadline = time.monotonic() + WAIT
        while not condition(text := self.render()):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; last config:\n{text}")
            self.cache.wait_for_change(self.cache.generation, 0.1)
        if text != self.config:
            self.nginx.reload(text)
            self.config = text

    def served_by(self, target: str, host: str) -> str | None:
        return request(self.http_port, target, host=host).backend


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi() as server:
        yield server


@pytest.fixture
def start_sidecar(
    api: KubeApi, tmp_path: Path, nginx_binary: str
) -> Iterator[Callable[..., Sidecar]]:
    stack: list[tuple[ClusterCache, Nginx]] = []

    def start(*extra: str) -> Sidecar:
        http_port, https_port = free_ports(2)
        prefix = make_prefix()
        argv = [
            "render", "--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)),
            "--listen-address", LOOPBACK, "--http-port", str(http_port),
            "--https-port", str(https_port), "--runtime-dir", str(prefix), *extra,
        ]  # fmt: skip
        rendered = run_cli(argv)
        assert rendered.code == 0, rendered.messages
        args = build_parser().parse_args(argv)
        settings = settings_from(args)
        cache = ClusterCache(cluster_options_from(args), settings, timing=FAST)
        cache.start()
        assert cache.wait_until_synced(WAIT)
        nginx = Nginx(rendered.config, [http_port], prefix=prefix, binary=nginx_binary).start()
        stack.append((cache, nginx))
        sidecar = Sidecar(
            api, cache, nginx, settings, Renderer(settings), http_port, https_port,
            rendered.config,
        )  # fmt: skip
        assert sidecar.render() == rendered.config  # one normalizer for both ways of reading
        return sidecar

    yield start
    for cache, nginx in stack:
        nginx.stop()
        cache.stop()


def test_routing_follows_adds_changes_and_deletions_in_the_api(
    api: KubeApi, start_sidecar: Callable[..., Sidecar]
) -> None:
    with started_backends("web", "api", "web-moved") as echo:
        api.apply(
            ingress("site", rules=[rule("a.test", path("/", to("web")))]),
            *echo_service(echo["web"]),
            *echo_service(echo["api"]),
        )
        sidecar = start_sidecar()
        assert sidecar.served_by("/api/x", "a.test") == "web"

        api.apply(ingress("api", rules=[rule("a.test", path("/api", to("api")))]))
        sidecar.follow(lambda text: "location /api" in text, "the new Ingress")
        assert sidecar.served_by("/api/x", "a.test") == "api"

        moved = endpoint_slice("web", echo["web-moved"], slice_name=f"web-{echo['web'].port}")
        api.apply(moved)  # an endpoint-only change: the pod moved
        sidecar.follow(lambda text: echo["web-moved"].endpoint in text, "the new endpoint")
        assert sidecar.served_by("/", "a.test") == "web-moved"

        api.delete("Ingress", "default", "api")
        sidecar.follow(lambda text: "location /api" not in text, "the deletion")
        assert sidecar.served_by("/api/x", "a.test") == "web-moved"

        other = ingress("t", class_name="traefik", rules=[rule("t.test", path("/", to("api")))])
        api.apply(other, ingress("u", rules=[rule("u.test", path("/", to("api")))]))
        sidecar.follow(lambda text: "u.test" in text, "the Ingress of our class")
        assert "t.test" not in sidecar.config
        assert sidecar.served_by("/", "t.test") is None
        assert sidecar.served_by("/", "u.test") == "api"


def test_a_rotated_certificate_is_served_after_the_secret_changes(
    api: KubeApi, start_sidecar: Callable[..., Sidecar]
) -> None:
    with started_backends("shop") as echo:
        shop = ingress("shop", rules=[rule("shop.test", path("/", to("shop")))])
        shop["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
        api.apply(
            shop, *echo_service(echo["shop"]), tls_secret("default", "shop-tls", ["shop.test"])
        )
        sidecar = start_sidecar()
        sidecar.nginx.reload(sidecar.config, [sidecar.http_port, sidecar.https_port])
        first = _certificate(sidecar)
        assert first.subject_alt_names == ("shop.test",)

        api.apply(tls_secret("default", "shop-tls", ["shop.test"]))  # cert-manager renewed it
        crt = sidecar.settings.cert_dir / f"{certificate_name('default', 'shop-tls')}.crt"
        before = crt.read_bytes()
        sidecar.follow(lambda _: crt.read_bytes() != before, "the new certificate file")
        sidecar.nginx.reload(sidecar.config, [sidecar.http_port, sidecar.https_port])
        second = _certificate(sidecar)
        assert second.der != first.der
        assert second.subject_alt_names == ("shop.test",)
        https = request(sidecar.https_port, "/", host="shop.test", tls=True)
        assert https.backend == "shop"


def _certificate(sidecar: Sidecar) -> PeerCertificate:
    response = request(sidecar.https_port, "/", host="shop.test", tls=True)
    assert response.certificate is not None
    return response.certificate


def test_during_an_outage_nginx_keeps_serving_and_the_cache_catches_up_after(
    api: KubeApi, start_sidecar: Callable[..., Sidecar]
) -> None:
    with started_backends("web", "api") as echo:
        api.apply(
            ingress("site", rules=[rule("a.test", path("/", to("web")))]),
            *echo_service(echo["web"]),
            *echo_service(echo["api"]),
        )
        sidecar = start_sidecar()
        api.go_down()
        deadline = time.monotonic() + WAIT
        while not sidecar.cache.status().errors and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sidecar.cache.status().errors
        assert sidecar.render() == sidecar.config  # the last state, not an empty config
        assert sidecar.served_by("/api", "a.test") == "web"

        api.apply(ingress("api", rules=[rule("a.test", path("/api", to("api")))]))
        api.come_back()
        sidecar.follow(lambda text: "location /api" in text, "catching up")
        assert sidecar.served_by("/api", "a.test") == "api"


def test_endpoints_service_dns_serves_through_the_service_name_and_pod_churn_changes_nothing(
    api: KubeApi, start_sidecar: Callable[..., Sidecar]
) -> None:
    with DnsStub() as dns, EchoBackend("web") as web, EchoBackend("elsewhere") as elsewhere:
        port = web.port
        api.apply(
            ingress("site", rules=[rule("a.test", path("/", to("web", port)))]),
            _service_on(port),
            endpoint_slice("web", web),
        )
        sidecar = start_sidecar("--endpoints", "service-dns", "--resolver", dns.endpoint)
        assert f"web.default.svc.cluster.local:{port}" in sidecar.config
        assert sidecar.served_by("/", "a.test") == "web"
        generation = sidecar.cache.generation
        api.apply(endpoint_slice("web", elsewhere, slice_name=f"web-{web.port}"))
        api.apply(endpoint_slice("web", elsewhere, slice_name="web-2"))
        time.sleep(0.3)
        assert sidecar.cache.generation == generation  # EndpointSlices are not even watched
        assert sidecar.render() == sidecar.config  # no new config, so no reload
        assert "web.default.svc.cluster.local" in dns.names()


def _service_on(port: int) -> dict:  # type: ignore[type-arg]
    manifest = service("web")
    manifest["spec"]["ports"] = [{"name": "http", "port": port, "targetPort": port}]
    return manifest
