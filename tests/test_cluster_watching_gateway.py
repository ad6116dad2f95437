"""The informers of ``watch --from-cluster`` for the Gateway API's kinds: GatewayClasses,
Gateways, HTTPRoutes and ReferenceGrants (``v1beta1``, else ``v1``) are listed and watched like
the Ingress kinds (reconnect, 410 Gone), a cluster without their resource definitions is no
error and is looked at again, Namespaces are read once a Gateway selects them, and the TLS
Secrets served listeners use are fetched by name and refreshed.

Each test runs a `ClusterCache` (real ``kubernetes`` client, real HTTP) against the emulator in
tests/kubeapi.py, as tests/test_cluster_watching.py does, whose fixtures it shares.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_cluster_watching as ingress_kinds
import yaml
from e2e import ingress, path, rule, service, to
from gateway_objects import (
    backend_ref,
    gateway,
    gateway_class,
    http_route,
    listener,
    namespace,
    parent,
    reference_grant,
    route_rule,
)
from kubeapi import KubeApi
from test_cluster_watching import FAST, Recorder, eventually, names
from tls_secrets import tls_secret

from ingress2nginx.cluster.caching import ClusterCache

api = ingress_kinds.api
kubeconfig = ingress_kinds.kubeconfig
request_style = ingress_kinds.request_style
start_cache = ingress_kinds.start_cache
"""The fixtures of the Ingress kinds' tests."""

GATEWAY_KINDS = {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}
GATEWAY_PATHS = "/apis/gateway.networking.k8s.io/"
RECHECK = dataclasses.replace(FAST, absent_recheck=0.3)


def route(name: str = "shop", host: str = "shop.test", backend: str = "shop") -> dict:  # type: ignore[type-arg]
    return http_route(
        name,
        parents=[parent("web")],
        hostnames=[host],
        rules=[route_rule(None, [backend_ref(backend)])],
    )


def web_gateway(*listeners: dict, namespace: str = "default") -> dict:  # type: ignore[type-arg]
    return gateway("web", namespace=namespace, listeners=listeners or [listener("http", 80)])


def gateway_requests(api: KubeApi, *, watch: bool) -> list[str]:
    return [r.path for r in api.requests if r.path.startswith(GATEWAY_PATHS) and r.watch == watch]


def test_the_cache_lists_then_follows_http_routes_added_modified_and_deleted(
    api: KubeApi, start_cache: Callable[..., ClusterCache], request_style: str
) -> None:
    api.apply(gateway_class(), web_gateway(), route("one"))
    recorder = Recorder()
    cache = start_cache(on_change=recorder)
    assert names(cache, "GatewayClass") == {"/ours"}
    assert names(cache, "Gateway") == {"default/web"}
    assert names(cache, "HTTPRoute") == {"default/one"}
    api.apply(route("two"))
    eventually(lambda: names(cache, "HTTPRoute") == {"default/one", "default/two"}, "the add")
    api.apply(route("two", host="other.test"))
    eventually(lambda: _hostnames(cache, "two") == ["other.test"], "the modification")
    api.delete("HTTPRoute", "default", "one")
    eventually(lambda: names(cache, "HTTPRoute") == {"default/two"}, "the deletion")
    assert "httproute default/one deleted" in recorder.reasons
    routes = api.requests_for("httproutes")
    assert len([r for r in routes if not r.watch]) == 1  # one list, then only the watch
    watch = next(r for r in routes if r.watch)
    assert watch.path == "/apis/gateway.networking.k8s.io/v1/httproutes"
    assert watch.query["allowWatchBookmarks"] == "true"
    assert watch.query["resourceVersion"]
    for manifest in cache.snapshot().manifests:
        if manifest.kind in GATEWAY_KINDS:
            assert manifest.body["kind"] == manifest.kind
            assert manifest.body["apiVersion"].startswith("gateway.networking.k8s.io/")


def _hostnames(cache: ClusterCache, name: str) -> list[str]:
    for manifest in cache.snapshot().manifests:
        if manifest.kind == "HTTPRoute" and manifest.name == name:
            return list(manifest.body["spec"]["hostnames"])
    return []


def test_a_dropped_http_route_watch_resumes_and_an_expired_one_relists(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web_gateway(), route("kept"), route("deleted-unseen"))
    cache = start_cache()
    api.wait_for_watches(8)
    api.drop_watches()
    api.apply(route("after-drop"))
    eventually(lambda: "default/after-drop" in names(cache, "HTTPRoute"), "the add after the drop")
    assert len([r for r in api.requests_for("httproutes") if not r.watch]) == 1
    api.go_down()
    api.delete("HTTPRoute", "default", "deleted-unseen")
    api.apply(route("added-unseen"))
    api.compact()
    api.come_back()
    expected = {"default/kept", "default/after-drop", "default/added-unseen"}
    eventually(lambda: names(cache, "HTTPRoute") == expected, "the rebuilt cache")
    assert api.gone_answers >= 1
    assert len([r for r in api.requests_for("httproutes") if not r.watch]) == 2


def test_a_cluster_without_the_gateway_api_is_synced_quietly_and_looked_at_again(
    api: KubeApi, start_cache: Callable[..., ClusterCache], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingress2nginx")
    api.uninstalled |= GATEWAY_KINDS
    api.apply(ingress("web", rules=[rule("a.test", path("/", to("web")))]), route("early"))
    cache = start_cache(timing=RECHECK)
    assert names(cache, "Ingress") == {"default/web"}
    assert names(cache, "HTTPRoute") == set()
    eventually(lambda: cache.status().watching, "the watches of the Ingress kinds")
    assert cache.status().synced and not cache.status().errors  # absent kinds are no error
    time.sleep(RECHECK.absent_recheck * 3)  # a few rechecks
    lists = gateway_requests(api, watch=False)
    assert 5 <= len(lists) <= 5 * 6, lists  # one list per kind per recheck, no error loop
    assert gateway_requests(api, watch=True) == []
    absent = [r for r in caplog.records if "not served by this cluster" in r.getMessage()]
    assert len(absent) == 5, [r.getMessage() for r in absent]  # said once per kind
    assert all(r.levelno == logging.INFO for r in absent)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    api.uninstalled.clear()  # the resource definitions are installed after start
    eventually(lambda: names(cache, "HTTPRoute") == {"default/early"}, "the routes")
    api.apply(route("late"))
    eventually(lambda: "default/late" in names(cache, "HTTPRoute"), "an event on the watch")
    assert any("served now" in r.getMessage() for r in caplog.records)


def test_resource_definitions_removed_while_watching_drop_their_objects(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web_gateway(), route())
    cache = start_cache(timing=RECHECK)
    assert names(cache, "HTTPRoute") == {"default/shop"}
    api.uninstalled |= GATEWAY_KINDS
    api.drop_watches()  # the API server ends the watches of a removed definition
    eventually(lambda: names(cache, "HTTPRoute") | names(cache, "Gateway") == set(), "the drop")
    eventually(lambda: not cache.status().errors, "every kind settled as absent")
    eventually(lambda: cache.status().watching, "the watches of the Ingress kinds")
    assert cache.status().synced


def test_reference_grants_are_read_at_v1_when_v1beta1_is_not_served(
    api: KubeApi, start_cache: Callable[..., ClusterCache], request_style: str
) -> None:
    api.unserved_versions.add("gateway.networking.k8s.io/v1beta1")
    api.apply(reference_grant("shop", "HTTPRoute", "web", "Service"))
    cache = start_cache()
    (grant,) = [m for m in cache.snapshot().manifests if m.kind == "ReferenceGrant"]
    assert (grant.namespace, grant.body["apiVersion"]) == ("shop", "gateway.networking.k8s.io/v1")
    api.apply(reference_grant("blog", "HTTPRoute", "web", "Service"))
    eventually(lambda: len(names(cache, "ReferenceGrant")) == 2, "the grant added")
    watches = {r.path for r in api.requests_for("referencegrants") if r.watch}
    assert watches == {"/apis/gateway.networking.k8s.io/v1/referencegrants"}


def test_v1beta1_reference_grants_are_preferred_when_both_versions_are_served(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(reference_grant("shop", "HTTPRoute", "web", "Service"))
    cache = start_cache()
    assert names(cache, "ReferenceGrant") == {"shop/from-web"}
    paths = {r.path for r in api.requests_for("referencegrants")}
    assert paths == {"/apis/gateway.networking.k8s.io/v1beta1/referencegrants"}


def test_gateway_kinds_we_may_not_list_leave_the_ingresses_served_until_granted(
    api: KubeApi, start_cache: Callable[..., ClusterCache], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingress2nginx")
    api.forbid(GATEWAY_PATHS)
    api.apply(ingress("web", rules=[rule("a.test", path("/", to("web")))]), route())
    cache = start_cache(timing=RECHECK)
    assert names(cache, "Ingress") == {"default/web"}
    time.sleep(RECHECK.absent_recheck * 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 5, warnings  # once per kind, not at every recheck
    assert all("may not be listed (403 Forbidden" in warning for warning in warnings)
    api.allow(GATEWAY_PATHS)
    eventually(lambda: names(cache, "HTTPRoute") == {"default/shop"}, "the routes once granted")


def test_namespaces_are_read_only_once_a_gateway_selects_them_by_label(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    api.apply(web_gateway(), namespace("a", {"team": "a"}))
    cache = start_cache()
    time.sleep(0.3)
    assert not [r for r in api.requests if r.path == "/api/v1/namespaces"]
    assert names(cache, "Namespace") == set()
    selecting = listener("http", 80, namespaces="Selector", selector={"matchLabels": {"team": "a"}})
    api.apply(web_gateway(selecting))
    eventually(lambda: names(cache, "Namespace") == {"/a"}, "the Namespaces")
    api.apply(namespace("b", {"team": "b"}))
    eventually(lambda: names(cache, "Namespace") == {"/a", "/b"}, "a Namespace added")
    assert [r for r in api.requests if r.path == "/api/v1/namespaces" and r.watch]


def test_namespaces_we_may_not_list_hold_nothing_back(
    api: KubeApi, start_cache: Callable[..., ClusterCache], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingress2nginx")
    api.forbid("/api/v1/namespaces")
    selecting = listener("http", 80, namespaces="Selector", selector={"matchLabels": {"team": "a"}})
    api.apply(web_gateway(selecting), namespace("a", {"team": "a"}), route())
    cache = start_cache(timing=RECHECK)
    assert names(cache, "HTTPRoute") == {"default/shop"}
    assert names(cache, "Namespace") == set()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("namespaces: may not be listed (403")
    api.allow("/api/v1/namespaces")
    eventually(lambda: names(cache, "Namespace") == {"/a"}, "the Namespaces once granted")


def test_a_gateway_selecting_namespaces_at_start_is_synced_with_them(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    selecting = listener("http", 80, namespaces="Selector", selector={"matchLabels": {"team": "a"}})
    api.apply(web_gateway(selecting), namespace("a", {"team": "a"}))
    cache = start_cache()
    assert names(cache, "Namespace") == {"/a"}


def test_listener_secrets_are_fetched_by_name_refreshed_and_granted_across_namespaces(
    api: KubeApi, start_cache: Callable[..., ClusterCache], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    own = tls_secret("default", "own-tls", ["own.test"])
    api.apply(own, tls_secret("certs", "shared-tls", ["shared.test"]))
    api.apply(tls_secret("default", "unused-tls", ["unused.test"]), service("shop"))
    https = listener("https", 443, hostname="own.test", secret="own-tls")
    shared = listener("shared", 443, hostname="shared.test", secret="shared-tls",
                      secret_namespace="certs")  # fmt: skip
    api.apply(gateway_class(), web_gateway(https, shared))
    cache = start_cache()
    assert names(cache, "Secret") == {"default/own-tls"}  # another namespace's: not granted
    version = _secret_version(cache, "own-tls")
    api.apply(tls_secret("default", "own-tls", ["own.test"]))  # a rotated certificate
    eventually(lambda: _secret_version(cache, "own-tls") != version, "the rotation")
    api.apply(reference_grant("certs", "Gateway", "default", "Secret"))
    eventually(lambda: "certs/shared-tls" in names(cache, "Secret"), "the granted Secret")
    api.apply(web_gateway(shared))
    eventually(lambda: names(cache, "Secret") == {"certs/shared-tls"}, "a Secret forgotten")
    api.delete("GatewayClass", "", "ours")  # the Gateway is no longer ours
    eventually(lambda: names(cache, "Secret") == set(), "every Secret forgotten")
    paths = {r.path for r in api.requests_for("secrets")}
    assert paths == {
        "/api/v1/namespaces/default/secrets/own-tls",
        "/api/v1/namespaces/certs/secrets/shared-tls",
    }
    assert not any(r.watch for r in api.requests_for("secrets"))
    assert own["data"]["tls.key"][:40] not in caplog.text


def _secret_version(cache: ClusterCache, name: str) -> str:
    for manifest in cache.snapshot().manifests:
        if manifest.kind == "Secret" and manifest.name == name:
            return str(manifest.metadata["resourceVersion"])
    return ""


RBAC = Path(__file__).resolve().parent.parent / "samples" / "kubernetes" / "rbac.yaml"


def read_granted(rules: list[dict[str, Any]], api_path: str, *, watch: bool) -> bool:
    """Whether an RBAC rule allows a read: list, watch, or get of one named object."""
    parts = api_path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    verb = "watch" if watch else ("get" if len(rest) == 2 else "list")
    return any(
        group in rule["apiGroups"] and rest[0] in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


def test_the_sample_rbac_grants_every_read_of_the_gateway_api(
    api: KubeApi, start_cache: Callable[..., ClusterCache]
) -> None:
    selecting = listener("http", 80, namespaces="Selector", selector={"matchLabels": {"team": "a"}})
    https = listener("https", 443, hostname="own.test", secret="own-tls")
    api.apply(
        gateway_class(), web_gateway(selecting, https), route(), namespace("a", {"team": "a"})
    )
    api.apply(tls_secret("default", "own-tls", ["own.test"]), service("shop"))
    api.apply(reference_grant("shop", "HTTPRoute", "default", "Service"))
    cache = start_cache()
    assert names(cache, "Secret") == {"default/own-tls"}
    api.wait_for_watches(9)  # every kind (8), and Namespaces, is watched
    rules = [rule for document in yaml.safe_load_all(RBAC.read_text())
             for rule in document.get("rules", [])]  # fmt: skip
    reads = {(r.path, r.watch) for r in api.requests}
    assert any(path.startswith(GATEWAY_PATHS) and watch for path, watch in reads)
    denied = [(path, watch) for path, watch in reads if not read_granted(rules, path, watch=watch)]
    assert denied == []
