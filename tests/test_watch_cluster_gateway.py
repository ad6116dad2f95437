"""``watch --from-cluster`` serving HTTPRoutes beside Ingresses: the sidecar process, real nginx
and echo backends on loopback, the Kubernetes API emulated (tests/kubeapi.py). HTTPRoutes
added, edited and deleted in the API change what nginx answers; a dropped or expired watch
recovers; a listener's rotated certificate is served; a cluster without the Gateway API keeps
serving its Ingresses, quietly; in dns mode an HTTPRoute's endpoints move without a reload."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import test_watch_dns as dns_tests
from e2e import echo_service, endpoint_slice, ingress, path, rule, service, started_backends, to
from gateway_objects import backend_ref, gateway, gateway_class, http_route, listener, parent
from gateway_objects import route_rule as gateway_rule
from harness import NginxRunner, free_port, request
from kubeapi import KubeApi
from tls_secrets import tls_secret
from watchrun import Sidecar, running_sidecar, steady_load

RELOADS = "ingress2nginx_reloads_total"
GATEWAY_KINDS = {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}
GATEWAY_PATHS = "/apis/gateway.networking.k8s.io/"


def app_route(backend: str, host: str = "route.test") -> dict[str, Any]:
    return http_route("app", parents=[parent("web")], hostnames=[host],
                      rules=[gateway_rule(None, [backend_ref(backend)])])  # fmt: skip


def legacy(backend: str) -> dict[str, Any]:
    return ingress("legacy", rules=[rule("ingress.test", path("/", to(backend)))])


def sidecar(
    runner: NginxRunner, base: Path, api: KubeApi, *extra: str
) -> contextlib.AbstractContextManager[Sidecar]:
    """``watch --from-cluster`` on `api`, and nginx (watchrun.py's `running_sidecar`)."""
    cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(base)))
    return running_sidecar(runner, base, *cluster, *extra, sources=[])


def test_http_routes_added_edited_and_deleted_in_the_api_change_what_nginx_answers(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]), legacy("blue"))
        api.apply(gateway_class(), gateway("web", listeners=[listener("http", 80)]))
        with sidecar(nginx_runner, tmp_path, api) as site:
            assert site.served_by("/", "ingress.test") == "blue"
            assert site.served_by("/", "route.test") is None
            api.apply(app_route("blue"))
            site.wait_for(lambda: site.served_by("/", "route.test") == "blue", "the new route")
            site.wait_for_metric(RELOADS, 1)
            api.apply(app_route("green"))
            site.wait_for(lambda: site.served_by("/", "route.test") == "green", "the edit")
            site.wait_for_metric(RELOADS, 2)
            api.delete("HTTPRoute", "default", "app")
            site.wait_for(lambda: site.served_by("/", "route.test") is None, "the deletion")
            site.wait_for_metric(RELOADS, 3)
            assert site.served_by("/", "ingress.test") == "blue"
            assert site.metric("ingress2nginx_config_in_sync") == 1


def test_a_served_route_loses_no_request_under_load_while_other_routes_change(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    """Steady keep-alive load on one HTTPRoute's host (and an Ingress beside it) while another
    route is added, edited and broken, each change reloading nginx: no request fails (the
    broken rule is left out and reported; last-good versions are kept for Ingresses only)."""
    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]), legacy("blue"))
        api.apply(gateway_class(), gateway("web", listeners=[listener("http", 80)]))
        api.apply(app_route("blue"))
        publishing = ("--publish-status-address", "192.0.2.10")
        with sidecar(nginx_runner, tmp_path, api, *publishing) as site:
            with steady_load(site, "route.test", "blue") as load, \
                    steady_load(site, "ingress.test", "blue") as beside:  # fmt: skip
                other = http_route("other", parents=[parent("web")], hostnames=["other.test"],
                                   rules=[gateway_rule(None, [backend_ref("green")])])  # fmt: skip
                api.apply(other)
                site.wait_for(lambda: site.served_by("/", "other.test") == "green", "the route")
                other["spec"]["rules"][0]["backendRefs"] = [backend_ref("blue")]
                api.apply(other)
                site.wait_for(lambda: site.served_by("/", "other.test") == "blue", "the edit")
                reloads = site.metric(RELOADS)
                bad = {"path": {"type": "PathPrefix", "value": "no-slash"}}
                other["spec"]["rules"][0]["matches"] = [bad]
                api.apply(other)  # an invalid match: the rule is left out and reported
                site.wait_for(lambda: site.served_by("/", "other.test") is None, "the bad edit")
                site.wait_for(lambda: load.answered > 200 and beside.answered > 200, "requests")
            # the reload is counted once nginx confirmed it, which may follow its first answers
            site.wait_for(lambda: site.metric(RELOADS) >= reloads + 1, "the bad edit's reload")
            assert load.failures == [] and beside.failures == []
            assert site.metric("ingress2nginx_config_in_sync") == 1


def test_a_dropped_or_expired_http_route_watch_recovers(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]))
        api.apply(gateway_class(), gateway("web", listeners=[listener("http", 80)]))
        api.apply(app_route("blue"))
        with sidecar(nginx_runner, tmp_path, api) as site:
            assert site.served_by("/", "route.test") == "blue"
            api.drop_watches()
            api.apply(app_route("green"))
            site.wait_for(lambda: site.served_by("/", "route.test") == "green", "after the drop")
            api.go_down()
            api.apply(app_route("blue"))  # made while the sidecar cannot see it
            api.compact()  # and the history is gone: its watch is answered 410
            api.come_back()
            site.wait_for(lambda: site.served_by("/", "route.test") == "blue", "after the 410")
            assert api.gone_answers >= 1
            relists = [
                r for r in api.requests_for("httproutes") if r.method == "GET" and not r.watch
            ]
            assert len(relists) == 2
            assert site.metric("ingress2nginx_config_in_sync") == 1


def test_a_listener_certificate_rotated_in_the_api_is_served(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    https = free_port()
    secure = listener("https", 443, hostname="secure.test", secret="secure-tls")
    with started_backends("blue") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), tls_secret("default", "secure-tls", ["secure.test"]))
        api.apply(gateway_class(), gateway("web", listeners=[secure]))
        api.apply(app_route("blue", host="secure.test"))
        options = ("--https-port", str(https), "--secret-refresh", "0.3")
        with sidecar(nginx_runner, tmp_path, api, *options) as site:
            first = _certificate(https)
            assert "secure.test" in first.subject_alt_names
            assert request(https, "/", host="secure.test", tls=True).backend == "blue"
            api.apply(tls_secret("default", "secure-tls", ["secure.test"]))  # renewed
            site.wait_for(lambda: _certificate(https).der != first.der, "the new certificate")
            site.wait_for_metric(RELOADS, 1)
            assert request(https, "/", host="secure.test", tls=True).backend == "blue"


def _certificate(port: int) -> Any:
    certificate = request(port, "/", host="secure.test", tls=True).certificate
    assert certificate is not None
    return certificate


def test_a_cluster_without_the_gateway_api_keeps_serving_its_ingresses_quietly(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.uninstalled |= GATEWAY_KINDS
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]), legacy("blue"))
        with sidecar(nginx_runner, tmp_path, api) as site:
            assert site.served_by("/", "ingress.test") == "blue"
            api.apply(legacy("green"))
            site.wait_for(lambda: site.served_by("/", "ingress.test") == "green", "the edit")
            site.wait_for_metric(RELOADS, 1)
            assert site.stays(lambda: site.metric("ingress2nginx_config_in_sync") == 1, 1.0)
            _assert_quiet(site, api)


def _assert_quiet(site: Sidecar, api: KubeApi) -> None:
    """Each Gateway API kind was listed once (the next look is a minute away), never
    watched, and nothing about it was logged but one note each."""
    lists = [r.path for r in api.requests if r.path.startswith(GATEWAY_PATHS)]
    assert sorted(lists) == [
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses",
        "/apis/gateway.networking.k8s.io/v1/gateways",
        "/apis/gateway.networking.k8s.io/v1/grpcroutes",
        "/apis/gateway.networking.k8s.io/v1/httproutes",
        "/apis/gateway.networking.k8s.io/v1/referencegrants",
        "/apis/gateway.networking.k8s.io/v1beta1/referencegrants",
    ]
    events = site.log_events()
    assert not [e for e in events if e["level"] in ("warning", "error")], events
    notes = [e["message"] for e in events if "not served by this cluster" in e["message"]]
    assert len(notes) == 5, notes


mainline_first_on_path = dns_tests.mainline_first_on_path
"""The current nginx first on PATH (test_watch_dns.py): ``--endpoints auto`` picks dns."""


def test_in_dns_mode_an_http_routes_endpoints_move_without_a_reload_and_its_edit_reloads(
    mainline_first_on_path: str, tmp_path: Path
) -> None:
    with started_backends("one", "two") as echo, KubeApi() as api:
        api.apply(service("web"), endpoint_slice("web", echo["one"], slice_name="web-1"))
        api.apply(*echo_service(echo["one"]), gateway_class())
        api.apply(gateway("web", listeners=[listener("http", 80)]), app_route("web"))
        cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)))
        with dns_tests.dns_sidecar(mainline_first_on_path, tmp_path, *cluster, sources=[]) as site:
            site.wait_for(lambda: site.served_by("/", "route.test") == "one", "the first endpoint")
            assert "service=_80._tcp resolve;" in site.output.read_text()
            api.apply(endpoint_slice("web", echo["two"], slice_name="web-1"))
            site.wait_for(lambda: site.served_by("/", "route.test") == "two", "the new endpoint")
            assert site.metric(RELOADS) == 0
            api.apply(app_route("one"))  # the route now names another Service
            site.wait_for(lambda: site.metric(RELOADS) == 1, "the reload for the edit")
            site.wait_for(lambda: site.served_by("/", "route.test") == "one", "the edited route")
