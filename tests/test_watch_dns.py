"""``watch`` in dns mode, as a real sidecar process beside a current nginx (>= 1.27.3).

With a current nginx first on PATH (the one the sidecar validates with), ``--endpoints auto``
picks dns and says so. An EndpointSlice edit then reaches nginx through the sidecar's DNS
responder: the sidecar writes no new config, nginx reloads nothing (same master and worker
pids, reload counter unchanged), and the traffic moves. An Ingress edit still re-renders and
reloads. Needs ``INGRESS2NGINX_MAINLINE_NGINX``, as test_mainline_nginx.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from e2e import endpoint_slice, ingress, path, rule, service, started_backends, to
from harness import LOOPBACK, EchoBackend, Nginx, free_port, request
from kubeapi import KubeApi
from test_mainline_nginx import find_mainline_nginx
from watchrun import Sidecar, running_sidecar, write_manifests

RELOADS = "ingress2nginx_reloads_total"
RECORD_CHANGES = "ingress2nginx_dns_record_changes_total"


@pytest.fixture
def mainline_first_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The current nginx as ``nginx`` on PATH: the sidecar validates with it."""
    binary = find_mainline_nginx()
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nginx").symlink_to(binary)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return binary


@pytest.fixture
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("one", "two", "admin") as found:
        yield found


def web(*paths: tuple[str, str]) -> list[dict[str, object]]:
    return [ingress("web", rules=[rule("web.test", *(path(p, to(s)) for p, s in paths))])]


def endpoints_of(backend: EchoBackend, *more: dict[str, object]) -> list[dict[str, object]]:
    return [service("web"), endpoint_slice("web", backend, slice_name="web-1"), *more]


@contextlib.contextmanager
def dns_sidecar(
    binary: str, base: Path, *extra: str, sources: list[str] | None = None
) -> Iterator[Sidecar]:
    def runner(conf: str, ports: Iterable[int] | None = None, **options: object) -> Nginx:
        return Nginx(conf, ports, binary=binary, prefix=options.get("prefix")).start()  # type: ignore[arg-type]

    dns = ("--dns-listen", f"{LOOPBACK}:{free_port()}", "--dns-unavailable-port", str(free_port()))
    with running_sidecar(runner, base, *dns, *extra, sources=sources) as site:  # type: ignore[arg-type]
        yield site


def test_an_endpoint_slice_edit_reaches_nginx_without_a_new_config_or_a_reload(
    mainline_first_on_path: str, tmp_path: Path, echo: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "ingress.yaml", web(("/", "web")))
    write_manifests(folder / "endpoints.yaml", endpoints_of(echo["one"]))
    with dns_sidecar(mainline_first_on_path, tmp_path) as site:
        chosen = [e for e in site.log_events() if e["message"].startswith("endpoints: ")]
        assert chosen and chosen[0]["endpoints"] == "dns" and chosen[0]["chosen_by"] == "auto"
        config = site.output.read_text()
        assert "server web.default.svc.cluster.local service=_80._tcp resolve;" in config
        site.wait_for(lambda: site.served_by("/", "web.test") == "one", "the first endpoint")
        assert site.nginx is not None
        pids = site.nginx.pid, site.nginx.worker_pids()
        reloads, renders = site.metric(RELOADS), site.metric("ingress2nginx_renders_total")
        changes = site.metric(RECORD_CHANGES)
        assert site.metric("ingress2nginx_dns_service_ports") >= 1
        assert site.metric("ingress2nginx_dns_endpoints") >= 1

        write_manifests(folder / "endpoints.yaml", endpoints_of(echo["two"]))
        site.wait_for(lambda: site.served_by("/", "web.test") == "two", "the new endpoint")
        assert (site.nginx.pid, site.nginx.worker_pids()) == pids
        assert site.output.read_text() == config
        assert site.metric(RELOADS) == reloads
        assert site.metric("ingress2nginx_renders_total") == renders  # not even re-rendered
        assert site.metric(RECORD_CHANGES) > changes  # the change went through DNS
        assert site.metric('ingress2nginx_dns_queries_total{transport="udp"}') > 0

        write_manifests(folder / "ingress.yaml", web(("/", "web"), ("/admin", "admin")))
        admin = [service("admin"), endpoint_slice("admin", echo["admin"])]
        write_manifests(folder / "admin.yaml", admin)
        site.wait_for(lambda: site.served_by("/admin", "web.test") == "admin", "the new path")
        site.wait_for_metric(RELOADS, reloads + 1)
        assert site.served_by("/", "web.test") == "two"


def test_from_the_cluster_an_endpoint_slice_update_and_a_pod_going_unready_need_no_reload(
    mainline_first_on_path: str, tmp_path: Path, echo: dict[str, EchoBackend]
) -> None:
    with KubeApi() as api:
        api.apply(*web(("/", "web")), *endpoints_of(echo["one"]))
        cluster = ("--from-cluster", "--kubeconfig", str(api.kubeconfig(tmp_path)))
        with dns_sidecar(mainline_first_on_path, tmp_path, *cluster, sources=[]) as site:
            site.wait_for(lambda: site.served_by("/", "web.test") == "one", "the first endpoint")
            assert site.nginx is not None
            pids = site.nginx.pid, site.nginx.worker_pids()
            renders = site.metric("ingress2nginx_renders_total")

            api.apply(endpoint_slice("web", echo["two"], slice_name="web-1"))
            site.wait_for(lambda: site.served_by("/", "web.test") == "two", "the updated slice")
            api.apply(endpoint_slice("web", echo["two"], slice_name="web-1", ready=False))
            site.wait_for(
                lambda: request(site.http_port, "/", host="web.test").status == 503,
                "no ready endpoint",
            )
            assert (site.nginx.pid, site.nginx.worker_pids()) == pids
            assert site.metric("ingress2nginx_renders_total") == renders
            assert site.metric(RELOADS) == 0
