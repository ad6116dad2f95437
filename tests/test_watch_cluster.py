"""``watch --from-cluster``: the Kubernetes API (emulated, tests/kubeapi.py) drives the same
debounced apply pipeline as files do, through watching.py's `Source` protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from e2e import echo_service, ingress, path, rule, started_backends, to
from harness import NginxRunner
from kubeapi import KubeApi
from watchrun import running_sidecar, steady_load

RELOADS = "ingress2nginx_reloads_total"
RBAC = Path(__file__).resolve().parent.parent / "samples" / "kubernetes" / "rbac.yaml"


def test_watch_from_the_cluster_follows_api_changes_with_one_reload_each(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    def app(backend: str) -> dict[str, object]:
        return ingress("app", rules=[rule("app.test", path("/", to(backend)))])

    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]), app("blue"))
        cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)))
        with running_sidecar(nginx_runner, tmp_path, *cluster, sources=[]) as site:
            assert site.served_by("/", "app.test") == "blue"
            api.apply(app("green"))
            site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the API change")
            site.wait_for_metric(RELOADS, 1)
            api.delete("Ingress", "default", "app")
            site.wait_for(lambda: site.served_by("/", "app.test") is None, "the deletion")
            site.wait_for_metric(RELOADS, 2)
            assert site.metric("ingress2nginx_config_in_sync") == 1


def status_writes(api: KubeApi) -> list[object]:
    return [w for w in api.writes() if w.path.endswith("/ingresses/app/status")]


def granted(rules: list[dict[str, Any]], method: str, api_path: str) -> bool:
    """Whether an RBAC rule allows a write: the verb of `method` on the resource of the path
    (``/api/v1/namespaces/NS/events``, ``.../ingresses/NAME/status``)."""
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}[method]
    parts = api_path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if rest[:1] == ["namespaces"]:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) == 3 else "")
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


def test_a_rejected_api_edit_keeps_the_last_good_version_and_posts_one_event_on_the_ingress(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    def app(backend: str, route: str = "/") -> dict[str, Any]:
        return ingress("app", rules=[rule("app.test", path(route, to(backend)))])

    with started_backends("blue", "green") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), *echo_service(echo["green"]), app("blue"))
        cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)))
        publishing = ("--publish-status-address", "192.0.2.10")
        with running_sidecar(nginx_runner, tmp_path, *cluster, *publishing, sources=[]) as site:
            site.wait_for(lambda: status_writes(api), "the first status")
            with steady_load(site, "app.test", "blue") as load:
                api.apply(app("green", route="no-slash"))
                edit = api.get("Ingress", "default", "app")  # before a status write bumps it
                site.wait_for(lambda: api.objects("Event"), "the Event")
                site.wait_for(lambda: load.answered > 100, "requests after the edit")
            assert load.failures == []
            (event,) = api.objects("Event")
            assert edit is not None
            assert event["involvedObject"] == {  # the version refused, whatever came after
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "namespace": "default",
                "name": "app", "resourceVersion": edit["metadata"]["resourceVersion"],
            }  # fmt: skip
            assert (event["type"], event["reason"]) == ("Warning", "RejectedEdit")
            assert "spec.rules[0].http.paths[0].path" in event["message"]
            assert "last good version" in event["message"]
            assert event["source"]["component"] == "ingress2nginx"
            assert event["metadata"]["namespace"] == "default"

            api.apply(ingress("other", rules=[rule("other.test", path("/", to("green")))]))
            site.wait_for(lambda: site.served_by("/", "other.test") == "green", "a later pass")
            assert len(api.objects("Event")) == 1  # one Event per rejected edit, not per pass
            # the held Ingress's status is published on its current version, once: not again
            # and again from its last good version (each write a new version, a new Event)
            assert site.stays(lambda: len(status_writes(api)) <= 2, 1.0), status_writes(api)

            api.apply(app("green"))
            site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the fix")
            assert len(api.objects("Event")) == 1
        rules = [
            rule
            for document in yaml.safe_load_all((RBAC).read_text())
            for rule in document.get("rules", [])
        ]
        writes = api.writes()
        assert writes and all(granted(rules, w.method, w.path) for w in writes), writes


def test_an_ingress_nginx_refuses_from_the_api_gets_an_event_with_nginxs_message(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    refused = ingress("snip", rules=[rule("snip.test", path("/", to("blue")))])
    refused["metadata"]["annotations"] = {
        "nginx.ingress.kubernetes.io/configuration-snippet": "bogus_directive on;"
    }
    with started_backends("blue") as echo, KubeApi() as api:
        api.apply(*echo_service(echo["blue"]), ingress("app", rules=[rule("app.test", path(
            "/", to("blue")))]))  # fmt: skip
        cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)))
        snippets = ("--allow-snippet-annotations", "--snippet-namespace", "default")
        with running_sidecar(nginx_runner, tmp_path, *cluster, *snippets, sources=[]) as site:
            api.apply(refused)
            site.wait_for(lambda: api.objects("Event"), "the Event")
            (event,) = api.objects("Event")
            assert event["involvedObject"]["name"] == "snip"
            assert event["reason"] == "NginxRefused"
            assert 'unknown directive "bogus_directive"' in event["message"]
            assert site.served_by("/", "app.test") == "blue"
            assert site.served_by("/", "snip.test") is None
