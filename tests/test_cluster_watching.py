"""The informer caches behind ``watch --from-cluster``: list, watch, reconnect, relist, survive.

Each test runs a `ClusterCache` (real ``kubernetes`` client, real HTTP) against the emulator in
tests/kubeapi.py with shortened timings, changes or breaks the emulated API, and waits
(bounded) for the cache to follow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e import endpoint_slice, ingress, ingress_class, path, rule, service, to
from harness import EchoBackend
from kubeapi import KubeApi
from tls_secrets import tls_secret

from ingress2nginx.cluster import connecting as cluster_connecting
from ingress2nginx.cluster.caching import ClusterCache, ClusterSource
from ingress2nginx.cluster.loading import ClusterOptions, EndpointsMode
from ingress2nginx.cluster.watching import WatchTiming
from ingress2nginx.core.errors import SourceError
from ingress2nginx.core.settings import Settings

FAST = WatchTiming(
    idle_timeout=2.0,
    watch_seconds=30,
    connect_timeout=1.0,
    backoff_initial=0.05,
    backoff_max=0.3,
    secret_refresh=0.3,
)
WAIT = 5.0


def eventually(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(params=["generic", "typed"])
def request_style(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with requests built by the ApiClient from paths (recent clients) and through
    the typed API methods (older clients)."""
    monkeypatch.setattr(cluster_connecting, "GENERIC", request.param == "generic")
    return str(request.param)


@pytest.fixture
def api() -> Iterator[KubeApi]:
    with KubeApi(bookmark_interval=0.2) as server:
        yield server


@pytest.fixture
def kubeconfig(api: KubeApi, tmp_path: Path) -> Path:
    return api.kubeconfig(tmp_path)


class Recorder:
    """The on_change callback: remembers each reason, thread-safely."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self._lock:
            self.reasons.append(reason)


@pytest.fixture
def start_cache(kubeconfig: Path) -> Iterator[Callable[..., ClusterCache]]:
    caches: list[ClusterCache] = []

    def start(
        *namespaces: str,
        endpoints: EndpointsMode = EndpointsMode.SLICES,
        on_change: Callable[[str], None] | None = None,
        timing: WatchTiming = FAST,
    ) -> ClusterCache:
        options = ClusterOptions(kubeconfig, tuple(namespaces), endpoints)
        cache = ClusterCache(options, Settings(), timing=timing, on_change=on_change)
        caches.append(cache)
        cache.start()
        assert cache.wait_until_synced(WAIT)
        return cache

    yield start
    for cache in caches:
        cache.stop()


def names(cache: ClusterCache, kind: str) -> set[str]:
    return {f"{m.namespace}/{m.name}" for m in cache.snapshot().manifests if m.kind == kind}


def web(name: str = "web", namespace: str = "default", host: str = "a.test") -> dict:  # type: ignore[type-arg]
    return ingress(name, namespace=namespace, rules=[rule(host, path("/", to("web")))])


def test_the_cache_lists_everything_then_follows_adds_modifications_and_deletions(
    api: KubeApi, start_cache: Callable[..., ClusterCache], request_style: str
) -> None:
    api.apply(web("one"), service("web"), ingress_class("nginx"))
    recorder = Recorder()
    cache = start_cache(on_change=recorder)
    assert names(cache, "Ingress") == {"default/one"}
    assert names(cache, "Service") == {"default/web"}
    assert names(cache, "IngressClass") == {"/nginx"}
    api.apply(web("two"))
    eventually(lambda: names(cache, "Ingress") == {"default/one", "default/two"}, "the add")
    api.apply(web("two", host="b.test"))
    eventually(lambda: _host(cache, "two") == "b.test", "the modification")
    api.delete("Ingress", "default", "one")
    eventually(lambda: names(cache, "Ingress") == {"default/two"}, "the deletion")
    assert "ingress default/one deleted" in recorder.reasons
    listed = [r for r in api.requests_for("ingresses") if not r.watch]
    assert len(listed) == 1  # one list, then only the watch
    watch = next(r for r in api.requests_for("ingresses") if r.watch)
    assert watch.query["allowWatchBookmarks"] == "true"
    assert watch.query["resourceVersion"]


def _host(cache: ClusterCache, name: str) -> str:
    for manifest in cache.snapshot().manifests:
        if manifest.kind == "Ingress" and manifest.name == name:
            return str(manifest.body["spec"]["rules"][0]["host"])
    return ""


def test_list_items_get_their_kind_and_api_version_back(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web(), service("web"))
    cache = start_cache()
    for manifest in cache.snapshot().manifests:
        assert manifest.body["kind"] == manifest.kind
        assert manifest.body["apiVersion"] in ("networking.k8s.io/v1", "v1")
        assert manifest.origin == "cluster"


def test_an_endpoint_only_change_is_a_change(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    with EchoBackend("a") as first, EchoBackend("b") as second:
        api.apply(web(), service("web"), endpoint_slice("web", first, slice_name="web-1"))
        cache = start_cache()
        generation = cache.generation
        api.apply(endpoint_slice("web", second, slice_name="web-1"))
        assert cache.wait_for_change(generation, WAIT) != generation
        eventually(lambda: _slice_port(cache) == second.port, "the new endpoint")


def _slice_port(cache: ClusterCache) -> int:
    slices = [m for m in cache.snapshot().manifests if m.kind == "EndpointSlice"]
    return int(slices[0].body["ports"][0]["port"]) if slices else 0


def test_a_dropped_watch_is_resumed_from_its_resource_version_without_a_new_list(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web("one"))
    cache = start_cache()
    api.wait_for_watches(4)
    api.drop_watches()
    api.apply(web("two"))
    eventually(lambda: "default/two" in names(cache, "Ingress"), "the add after the drop")
    requests = api.requests_for("ingresses")
    assert len([r for r in requests if not r.watch]) == 1
    assert len([r for r in requests if r.watch]) >= 2
    assert all(r.query.get("resourceVersion") for r in requests if r.watch)


def test_410_gone_relists_and_rebuilds_the_cache(
    api: KubeApi, start_cache: Callable[..., ClusterCache], request_style: str
) -> None:
    api.apply(web("kept"), web("deleted-unseen"))
    cache = start_cache()
    api.go_down()
    api.delete("Ingress", "default", "deleted-unseen")
    api.apply(web("added-unseen"))
    api.compact()
    api.come_back()
    expected = {"default/kept", "default/added-unseen"}
    eventually(lambda: names(cache, "Ingress") == expected, "the rebuilt cache")
    assert api.gone_answers >= 1
    assert len([r for r in api.requests_for("ingresses") if not r.watch]) == 2


def test_410_gone_as_an_http_status_also_relists(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web("kept"))
    cache = start_cache()
    api.gone_as_http_status = True
    api.go_down()
    api.apply(web("added-unseen"))
    api.compact()
    api.come_back()
    expected = {"default/kept", "default/added-unseen"}
    eventually(lambda: names(cache, "Ingress") == expected, "the rebuilt cache")
    assert api.gone_answers >= 1


def test_while_the_api_is_down_the_cache_keeps_its_state_and_catches_up_after(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web("one"), service("web"))
    cache = start_cache()
    before = cache.snapshot()
    api.go_down()
    eventually(lambda: cache.status().errors, "the outage to be noticed")
    time.sleep(0.5)  # several failed reconnections
    assert cache.snapshot() == before
    status = cache.status()
    assert status.synced and not status.watching
    assert any("connection refused" in error for error in status.errors)
    api.apply(web("two"))
    api.delete("Service", "default", "web")
    api.come_back()
    eventually(lambda: names(cache, "Ingress") == {"default/one", "default/two"}, "catching up")
    eventually(lambda: names(cache, "Service") == set(), "the deletion made during the outage")
    eventually(lambda: cache.status().watching and not cache.status().errors, "recovery")


def test_a_silent_watch_is_presumed_dead_after_the_idle_timeout_and_replaced(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.bookmark_interval = 3600  # the server never sends a byte: a dead connection
    timing = WatchTiming(idle_timeout=0.4, watch_seconds=30, backoff_initial=0.05)
    cache = start_cache(timing=timing)
    eventually(
        lambda: len([r for r in api.requests_for("ingresses") if r.watch]) >= 3,
        "watches replaced after silence",
    )
    api.apply(web("late"))
    eventually(lambda: "default/late" in names(cache, "Ingress"), "an event after reconnecting")


def test_api_errors_never_stop_the_cache(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    cache = start_cache()
    api.forbid("/apis/networking.k8s.io/v1/ingresses")
    api.drop_watches()
    eventually(lambda: any("403" in e for e in cache.status().errors), "the refusal")
    api.apply(web("after"))
    api.allow("/apis/networking.k8s.io/v1/ingresses")
    eventually(lambda: "default/after" in names(cache, "Ingress"), "recovery after 403s")


def test_namespaces_limit_what_is_listed_and_watched(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web(namespace="a"), web(namespace="b"), web(namespace="c"))
    cache = start_cache("a", "b")
    api.apply(web("late", namespace="c"), web("late", namespace="b"))
    eventually(lambda: "b/late" in names(cache, "Ingress"), "the watched namespace")
    assert names(cache, "Ingress") == {"a/web", "b/web", "b/late"}
    paths = {r.path for r in api.requests_for("ingresses")}
    assert paths == {
        "/apis/networking.k8s.io/v1/namespaces/a/ingresses",
        "/apis/networking.k8s.io/v1/namespaces/b/ingresses",
    }


def test_endpoints_dns_mode_never_reads_endpoint_slices(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    with EchoBackend("a") as backend:
        api.apply(web(), service("web"), endpoint_slice("web", backend))
        cache = start_cache(endpoints=EndpointsMode.SERVICE_DNS)
        assert names(cache, "EndpointSlice") == set()
        assert api.requests_for("endpointslices") == []


def test_referenced_secrets_are_fetched_by_name_refreshed_and_forgotten(
    api: KubeApi,
    start_cache: Callable[..., ClusterCache],
    caplog: pytest.LogCaptureFixture,
    request_style: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = tls_secret("default", "shop-tls", ["a.test"])
    api.apply(web(), secret)
    api.apply(tls_secret("default", "unrelated", ["u.test"]))
    cache = start_cache()
    assert names(cache, "Secret") == set()
    served = web()
    served["spec"]["tls"] = [{"hosts": ["a.test"], "secretName": "shop-tls"}]
    api.apply(served)
    eventually(lambda: names(cache, "Secret") == {"default/shop-tls"}, "the referenced Secret")
    version = _secret_version(cache)
    api.apply(tls_secret("default", "shop-tls", ["a.test"]))  # a rotated certificate
    eventually(lambda: _secret_version(cache) != version, "the rotation")
    api.apply(web())  # the reference is gone
    eventually(lambda: names(cache, "Secret") == set(), "the Secret to be forgotten")
    secret_paths = {r.path for r in api.requests_for("secrets")}
    assert secret_paths == {"/api/v1/namespaces/default/secrets/shop-tls"}
    assert not any(r.watch for r in api.requests_for("secrets"))
    assert secret["data"]["tls.key"][:40] not in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def _secret_version(cache: ClusterCache) -> str:
    secrets = [m for m in cache.snapshot().manifests if m.kind == "Secret"]
    return str(secrets[0].metadata["resourceVersion"]) if secrets else ""


def test_a_secret_of_another_class_is_never_read(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    other = ingress("other", class_name="traefik", rules=[rule("o.test", path("/", to("o")))])
    other["spec"]["tls"] = [{"hosts": ["o.test"], "secretName": "other-tls"}]
    api.apply(other, tls_secret("default", "other-tls", ["o.test"]))
    cache = start_cache()
    time.sleep(FAST.secret_refresh * 2)
    assert names(cache, "Secret") == set()
    assert api.requests_for("secrets") == []


def test_the_source_refuses_a_snapshot_before_the_first_complete_list(
    api: KubeApi, kubeconfig: Path
) -> None:
    api.go_down()
    source = ClusterSource(ClusterOptions(kubeconfig), Settings(), timing=FAST, sync_timeout=0.5)
    source.start(lambda reason: None)
    try:
        with pytest.raises(SourceError, match=r"not read completely yet: .*connection refused"):
            source.snapshot()
        api.come_back()
        api.apply(web())
        eventually(lambda: source.cache is not None and source.cache.synced, "the first list")
        assert [m.name for m in source.snapshot().manifests if m.kind == "Ingress"] == ["web"]
    finally:
        source.stop()


def test_stopping_the_cache_is_prompt_even_with_watches_open(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.bookmark_interval = 3600
    cache = start_cache(timing=WatchTiming(idle_timeout=60, watch_seconds=600))
    api.wait_for_watches(4)
    started = time.monotonic()
    cache.stop()
    assert time.monotonic() - started < 2.0
