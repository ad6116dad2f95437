"""``ingress2nginx watch`` as a sidecar beside a real nginx: files change, routes follow.

Each test starts the real command as a subprocess on a manifest folder, then nginx from the
config it wrote (see watchrun.py), and changes files as people and the kubelet do: add, edit
(temp file renamed over), half-write, break, fix, delete, swap a ConfigMap's ``..data``, make
bursts. Real requests check the routes; /metrics checks the reload count; a prober checks that
nginx never stops answering a route that did not change. During a reload nginx's old workers
may still accept a connection for a few milliseconds, so a test waits for every route it
expects at once rather than for one and then asserting the others.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import echo_service, ingress, manifest_text, path, rule, started_backends, to
from harness import EchoBackend, NginxRunner
from watchrun import ConfigMapVolume, Sidecar, running_sidecar, write_manifests

RELOADS = "ingress2nginx_reloads_total"
RENDERS = "ingress2nginx_renders_total"


def site_of(host: str, backend: str, name: str | None = None) -> dict[str, object]:
    """An Ingress routing every path of `host` to the Service `backend`."""
    return ingress(name or host.split(".")[0], rules=[rule(host, path("/", to(backend)))])


@contextlib.contextmanager
def prober(site: Sidecar, host: str, expected: str) -> Iterator[list[str]]:
    """Request `host` every few milliseconds in the background; yields the failures seen."""
    failures: list[str] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            answer = site.served_by("/", host)
            if answer != expected:
                failures.append(f"{host}: {answer}")
            done.wait(0.01)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield failures
    finally:
        done.set()
        thread.join(timeout=5)


@pytest.fixture
def backends() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("stable", "blue", "green") as echo:
        yield echo


def services(echo: dict[str, EchoBackend]) -> list[dict[str, object]]:
    """Services and EndpointSlices leading to each echo backend."""
    return [obj for backend in echo.values() for obj in echo_service(backend)]


def test_the_sidecar_renders_first_then_nginx_starts_from_its_file_and_it_becomes_ready(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    write_manifests(folder / "stable.yaml", [site_of("stable.test", "stable")])
    with running_sidecar(nginx_runner, tmp_path, start_nginx=False) as site:
        site.wait_for(site.output.exists, "the first nginx.conf")
        assert site.http_status("/healthz") == 200
        assert site.http_status("/readyz") == 503  # nginx does not run it yet
        site.nginx = nginx_runner(
            site.output.read_text(), [site.http_port, site.status_port], prefix=site.prefix
        )
        site.wait_for(lambda: site.http_status("/readyz") == 200, "readiness")
        assert site.served_by("/", "stable.test") == "stable"
        metrics = site.metrics()
        assert metrics[RELOADS] == 0  # nginx started with the file: nothing to reload
        assert metrics["ingress2nginx_config_in_sync"] == 1
        assert metrics["ingress2nginx_served_ingresses"] == 1
        assert metrics["ingress2nginx_last_success_timestamp_seconds"] > time.time() - 60
        assert metrics["ingress2nginx_render_duration_seconds_count"] >= 1
        applied = [
            event for event in site.log_events() if event["message"] == "applied a new config"
        ]
        assert applied and applied[0]["result"] == "nginx started with it"
        assert site.terminate() == 0
        assert site.served_by("/", "stable.test") == "stable"  # nginx outlives its sidecar


def test_added_edited_and_deleted_files_change_the_routes_with_one_reload_each(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    write_manifests(folder / "stable.yaml", [site_of("stable.test", "stable")])
    with (
        running_sidecar(nginx_runner, tmp_path) as site,
        prober(site, "stable.test", "stable") as failures,
    ):
        write_manifests(folder / "app.yaml", [site_of("app.test", "blue")])
        site.wait_for(lambda: site.served_by("/", "app.test") == "blue", "the added route")
        site.wait_for_metric(RELOADS, 1)

        write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the edited route")
        site.wait_for_metric(RELOADS, 2)

        (folder / "app.yaml").unlink()
        site.wait_for(lambda: site.served_by("/", "app.test") is None, "the deleted route")
        site.wait_for_metric(RELOADS, 3)
        assert site.stays(lambda: site.metric(RELOADS) == 3, 0.3)
    assert failures == []
    assert "[emerg]" not in site.nginx.stderr  # type: ignore[union-attr]


def test_a_burst_of_changes_makes_one_reload_and_an_unchanged_save_makes_none(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    with running_sidecar(nginx_runner, tmp_path, "--debounce", "0.3") as site:
        for number in range(8):
            write_manifests(folder / f"app{number}.yaml", [site_of(f"app{number}.test", "blue")])
        site.wait_for(
            lambda: all(site.served_by("/", f"app{n}.test") == "blue" for n in range(8)),
            "the burst's routes",
        )
        site.wait_for_metric(RELOADS, 1)
        assert site.stays(lambda: site.metric(RELOADS) == 1, 0.6)

        renders = site.metric(RENDERS)
        write_manifests(folder / "app0.yaml", [site_of("app0.test", "blue")])  # same content
        site.wait_for(lambda: site.metric(RENDERS) > renders, "the render of the saved file")
        assert site.stays(lambda: site.metric(RELOADS) == 1, 0.4)


def test_a_half_written_file_keeps_its_routes_while_other_changes_still_apply(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    (folder / "app.json").write_text(json.dumps(site_of("app.test", "blue")))
    with running_sidecar(nginx_runner, tmp_path) as site:
        full = json.dumps(site_of("app.test", "green"))
        (folder / "app.json").write_text(full[: len(full) // 2])  # the writer is halfway
        write_manifests(folder / "other.yaml", [site_of("other.test", "green")])
        site.wait_for(lambda: site.served_by("/", "other.test") == "green", "the other file")
        assert site.served_by("/", "app.test") == "blue"  # its last good version
        site.wait_for_metric("ingress2nginx_source_errors", 1)
        problems = [event for event in site.log_events() if event.get("event") == "problem"]
        assert any(event["code"] == "malformed-source" for event in problems)
        assert any(event["code"] == "stale-source" for event in problems)

        (folder / "app.json").write_text(full)  # the rest of the write
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the finished file")
        site.wait_for_metric("ingress2nginx_source_errors", 0)


def test_an_invalid_ingress_is_rejected_alone_and_counted(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    write_manifests(folder / "stable.yaml", [site_of("stable.test", "stable")])
    with running_sidecar(nginx_runner, tmp_path) as site:
        bad = ingress("bad", rules=[rule("bad.test", path("no-slash", to("blue")))])
        write_manifests(folder / "bad.yaml", [bad, site_of("good.test", "green", "good")])
        site.wait_for(lambda: site.served_by("/", "good.test") == "green", "the valid Ingress")
        site.wait_for_metric("ingress2nginx_rejected_ingresses", 1)
        assert site.served_by("/", "bad.test") is None
        assert site.served_by("/", "stable.test") == "stable"


def test_an_ingress_the_validator_refuses_is_left_out_and_never_installed(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    write_manifests(folder / "stable.yaml", [site_of("stable.test", "stable")])
    # nginx -t as usual, but a config naming refused.test fails as nginx -t would
    validate = '! grep -q refused.test {} && nginx -t -q -e stderr -c "$CONFIG"'
    with running_sidecar(nginx_runner, tmp_path, "--validate-command", validate) as site:
        good = site.output.read_text()
        write_manifests(folder / "app.yaml", [site_of("refused.test", "blue")])
        site.wait_for(
            lambda: site.metric("ingress2nginx_validation_failures_total") >= 1, "the refusal"
        )
        site.wait_for_metric("ingress2nginx_refused_ingresses", 1)
        assert site.output.read_text() == good  # without it, the config is the one running
        assert site.metric("ingress2nginx_config_in_sync") == 1
        assert site.metric(RELOADS) == 0
        assert site.served_by("/", "stable.test") == "stable"
        assert site.served_by("/", "refused.test") is None
        refused = [event for event in site.log_events() if event.get("code") == "refused-by-nginx"]
        assert refused and "ingress default/refused" in refused[0]["message"]

        write_manifests(folder / "app.yaml", [site_of("fixed.test", "blue")])
        site.wait_for(lambda: site.served_by("/", "fixed.test") == "blue", "the fixed file")
        site.wait_for_metric("ingress2nginx_refused_ingresses", 0)
        site.wait_for_metric(RELOADS, 1)


def test_a_configmap_volume_data_swap_is_applied(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    volume = ConfigMapVolume(tmp_path / "manifests")
    volume.publish(
        {
            "services.yaml": manifest_text(services(backends)),
            "app.yaml": manifest_text([site_of("app.test", "blue")]),
        }
    )
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.served_by("/", "app.test") == "blue"
        volume.publish(
            {
                "services.yaml": manifest_text(services(backends)),
                "app.yaml": manifest_text([site_of("app.test", "green")]),
                "new.yaml": manifest_text([site_of("new.test", "stable")]),
            }
        )
        site.wait_for_metric(RELOADS, 1)
        site.wait_for(
            lambda: (
                site.served_by("/", "new.test") == "stable"
                and site.served_by("/", "app.test") == "green"
            ),
            "the new and the changed key",
        )

        volume.publish({"services.yaml": manifest_text(services(backends))})
        site.wait_for_metric(RELOADS, 2)
        site.wait_for(
            lambda: (
                site.served_by("/", "app.test") is None and site.served_by("/", "new.test") is None
            ),
            "the removed keys",
        )


def test_a_single_file_source_is_watched_through_its_folder(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    single = folder / "all.yaml"
    write_manifests(single, [*services(backends), site_of("app.test", "blue")])
    write_manifests(folder / "ignored.yaml", [site_of("ignored.test", "green")])
    with running_sidecar(nginx_runner, tmp_path, sources=[str(single)]) as site:
        assert site.served_by("/", "app.test") == "blue"
        assert site.served_by("/", "ignored.test") is None
        write_manifests(single, [*services(backends), site_of("app.test", "green")])
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the saved file")


def test_the_periodic_resync_catches_changes_no_event_announced(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    outside = tmp_path / "team"  # behind a symlinked folder: not watched, read by the walk
    outside.mkdir()
    write_manifests(outside / "app.yaml", [site_of("app.test", "blue")])
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "services.yaml", services(backends))
    (folder / "team").symlink_to(outside)
    with running_sidecar(nginx_runner, tmp_path, "--resync-interval", "0.5") as site:
        assert site.served_by("/", "app.test") == "blue"
        write_manifests(outside / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the resync")


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_watch_exits_0_on_a_signal_and_leaves_the_last_config_in_place(
    nginx_runner: NginxRunner, tmp_path: Path, signal_number: int
) -> None:
    with running_sidecar(nginx_runner, tmp_path, start_nginx=False) as site:
        site.wait_for(site.output.exists, "the first nginx.conf")
        written = site.output.read_text()
        site.wait_for(lambda: site.http_status("/healthz") == 200, "the health server")
        assert site.terminate(signal_number) == 0
        assert site.output.read_text() == written
        assert not list(site.prefix.glob(".nginx.conf.*"))  # no temp file left behind
        assert site.log_events()[-1]["message"] == "stopped"


def test_json_logs_are_one_object_a_line_and_never_carry_secret_data(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "tls", "namespace": "default"},
        "data": {"tls.crt": "bm90LWEtY2VydA==", "tls.key": "c3VwZXItc2VjcmV0LWtleQ=="},
    }
    app = ingress("app", rules=[rule("app.test", path("/", to("web")))])
    app["spec"]["tls"] = [{"hosts": ["app.test"], "secretName": "tls"}]  # type: ignore[index]
    write_manifests(folder / "app.yaml", [secret, app])
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.metric("ingress2nginx_config_in_sync") == 1
    lines = [line for line in site.log.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is JSON
    assert all({"time", "level", "message"} <= event.keys() for event in events)
    assert any(event.get("code") for event in events)  # the unusable Secret was reported
    assert "c3VwZXItc2VjcmV0LWtleQ" not in site.log and "super-secret-key" not in site.log
