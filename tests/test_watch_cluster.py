"""``watch --from-cluster``: the Kubernetes API (emulated, tests/kubeapi.py) drives the same
debounced apply pipeline as files do, through watching.py's `Source` protocol."""

from __future__ import annotations

from pathlib import Path

from e2e import echo_service, ingress, path, rule, started_backends, to
from harness import NginxRunner
from kubeapi import KubeApi
from watchrun import running_sidecar

RELOADS = "ingress2nginx_reloads_total"


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
