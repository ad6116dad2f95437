"""A restarted watcher is invisible to nginx, and sources that vanish do not take hosts with them.

Each test runs the real ``ingress2nginx watch`` beside a real nginx (watchrun.py) and restarts
the watcher while clients hold keep-alive connections: a reload would close them (nginx's old
workers shut their idle connections), so a client that kept its one connection and never saw
an error proves nginx was not reloaded, and unchanged master and worker pids prove it again.
Each test also makes a real change afterwards and sees it reload: the probe can fail.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from auth_helpers import secret, sha_hash
from e2e import echo_service, ingress, manifest_text, path, rule, started_backends, to
from harness import LOOPBACK, EchoBackend, NginxRunner
from tls_secrets import tls_secret
from watchrun import Sidecar, running_sidecar, write_manifests

RELOADS = "ingress2nginx_reloads_total"
ADOPTED = "nginx already runs the new config"
CLIENTS = 4


def site_of(host: str, backend: str) -> dict[str, object]:
    return ingress(host.split(".")[0], rules=[rule(host, path("/", to(backend)))])


def secured_sites(echo: dict[str, EchoBackend]) -> list[dict[str, object]]:
    """Services, a plain host, an HTTPS host and a basic-auth host: the restart must leave
    the config, the certificate files and the htpasswd file alike untouched."""
    shop = site_of("shop.test", "blue")
    shop["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]  # type: ignore[index]
    private = site_of("private.test", "blue")
    private["metadata"]["annotations"] = {  # type: ignore[index]
        "nginx.ingress.kubernetes.io/auth-type": "basic",
        "nginx.ingress.kubernetes.io/auth-secret": "users",
    }
    users = secret("users", {"auth": f"alice:{sha_hash('wonderland')}\n"})
    services = [obj for backend in echo.values() for obj in echo_service(backend)]
    return [*services, site_of("stable.test", "stable"), shop, private, users,
            tls_secret("default", "shop-tls", ["shop.test"])]  # fmt: skip


@dataclass
class KeepAliveClient:
    """One HTTP/1.1 connection to nginx, used again and again; counts the connections it
    had to open (1 while nginx never closed it) and the requests that failed."""

    port: int
    host: str
    expected: str
    connections: int = 0
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    _connection: http.client.HTTPConnection | None = None

    def ask(self) -> None:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
            self.connections += 1
        try:
            self._connection.request("GET", "/", headers={"Host": self.host})
            response = self._connection.getresponse()
            response.read()
            backend = response.getheader("X-Echo-Backend")
            if response.status != 200 or backend != self.expected:
                self.failures.append(f"{response.status} from {backend}")
            self.answered += 1
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.failures.append(repr(error))
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextlib.contextmanager
def keep_alive_load(site: Sidecar, host: str, expected: str) -> Iterator[list[KeepAliveClient]]:
    """`CLIENTS` clients asking every 20 ms, each on its own kept-alive connection."""
    clients = [KeepAliveClient(site.http_port, host, expected) for _ in range(CLIENTS)]
    done = threading.Event()

    def run(client: KeepAliveClient) -> None:
        while not done.is_set():
            client.ask()
            done.wait(0.02)
        client.close()

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    try:
        yield clients
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=10)


@pytest.fixture
def backends() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("stable", "blue", "green") as echo:
        yield echo


def adopted(site: Sidecar) -> int:
    return sum(event["message"] == ADOPTED for event in site.log_events())


def files_state(*folders: Path) -> dict[str, tuple[int, int, bytes]]:
    """(inode, mtime, bytes) of the files in `folders` but nginx's own log: any rewrite
    changes the inode."""
    state = {}
    for folder in folders:
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.name != "nginx.stderr":
                info = file.stat()
                state[str(file)] = (info.st_ino, info.st_mtime_ns, file.read_bytes())
    return state


@pytest.mark.parametrize("kill", [False, True], ids=["SIGTERM", "SIGKILL"])
def test_a_restarted_watcher_does_not_reload_nginx_nor_touch_its_files_under_load(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend], kill: bool
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.nginx is not None
        certs = site.prefix / "certs"
        before = files_state(site.prefix, certs)
        assert any(name.endswith(".crt") for name in before) and len(before) >= 4
        master, workers = site.nginx.pid, site.nginx.worker_pids()
        with keep_alive_load(site, "stable.test", "stable") as clients:
            site.wait_for(lambda: all(c.answered >= 3 for c in clients), "the load")
            site.restart(kill=kill)
            site.wait_for(lambda: site.http_status("/readyz") == 200, "the new watcher ready")
            answered = [client.answered for client in clients]
            site.wait_for(
                lambda: all(c.answered > n + 3 for c, n in zip(clients, answered, strict=True)),
                "more requests after the restart",
            )
            assert site.metric(RELOADS) == 0
            assert site.nginx.pid == master and site.nginx.worker_pids() == workers
            assert files_state(site.prefix, certs) == before
        assert [(c.connections, c.failures) for c in clients] == [(1, [])] * CLIENTS
        assert adopted(site) == 1

        # The probe sees a reload when there is one: a real change closes those connections.
        with keep_alive_load(site, "stable.test", "stable") as clients:
            site.wait_for(lambda: all(c.answered >= 3 for c in clients), "the load")
            write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
            site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the new route")
            site.wait_for(lambda: all(c.connections > 1 for c in clients), "reconnections")
        site.wait_for_metric(RELOADS, 1)
        assert not site.nginx.worker_pids() & workers


def test_a_watcher_killed_between_writing_and_reloading_is_followed_by_a_reload(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    """The file on disk holds the new config, nginx still runs the old one: the file alone
    must not make the next watcher believe nginx runs it."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.nginx is not None
        # this watcher dies at its next reload, as if killed right after the rename
        site.restart("--reload-command", "kill -9 $PPID")
        site.wait_for(lambda: adopted(site) == 1, "the restarted watcher")
        old = site.output.read_text()
        site.exit_code = -9  # expected: it dies
        write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: site.process.poll() is not None, "the watcher's death")
        assert site.output.read_text() != old  # written, never reloaded
        assert site.served_by("/", "app.test") is None

        site.restart()
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the reload")
        site.wait_for_metric(RELOADS, 1)
        assert adopted(site) == 1


def test_sources_reverted_after_such_a_death_are_adopted_and_the_file_written_back(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    """The reverse: nginx runs what the sources say again, the file on disk does not."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.nginx is not None
        running = site.output.read_text()
        workers = site.nginx.worker_pids()
        site.restart("--reload-command", "kill -9 $PPID")
        site.wait_for(lambda: adopted(site) == 1, "the restarted watcher")
        site.exit_code = -9
        write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: site.process.poll() is not None, "the watcher's death")
        assert site.output.read_text() != running

        (folder / "app.yaml").unlink()
        site.restart()
        site.wait_for(lambda: adopted(site) == 2, "the second restarted watcher")
        assert site.output.read_text() == running
        assert site.metric(RELOADS) == 0 and site.nginx.worker_pids() == workers
        assert site.served_by("/", "stable.test") == "stable"


def test_temp_files_of_a_watcher_killed_while_validating_are_removed_at_start(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path) as site:
        mine = [site.prefix / ".nginx.conf.swp", site.prefix / "notes.tmp"]
        for file in mine:
            file.write_text("not the watcher's")
        site.restart("--validate-command", "sleep 3; nginx -t -q -e stderr -c {}")
        site.wait_for(lambda: adopted(site) == 1, "the restarted watcher")
        write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: list(site.prefix.glob(".nginx.conf.*.tmp")), "validation")
        left = list(site.prefix.glob(".nginx.conf.*.tmp"))
        site.restart(kill=True)  # killed while validating: its temp file stays behind
        assert all(file.exists() for file in left)

        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the new route")
        assert not any(file.exists() for file in left)
        assert all(file.read_text() == "not the watcher's" for file in mine)
        removed = [e for e in site.log_events() if e["message"].startswith("removed a temp")]
        assert [event["file"] for event in removed] == [str(file) for file in left]


def test_a_missing_manifests_folder_is_retried_with_backoff_not_at_every_write_beside_it(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    later = tmp_path / "later"  # beside it: the watcher's own log, and the files below
    with running_sidecar(nginx_runner, tmp_path, sources=[str(later)], start_nginx=False) as site:
        site.wait_for(lambda: site.metric("ingress2nginx_render_errors_total") >= 1, "a pass")
        for number in range(20):
            (tmp_path / f"unrelated-{number}.txt").write_text("x")
            time.sleep(0.1)
        # backoff 0.5 s, 1 s, 2 s ...: a few passes in 2 s, not one per write (20 or more)
        assert site.metric("ingress2nginx_render_errors_total") <= 5
        assert not site.output.exists()

        staged = tmp_path / "staged"
        staged.mkdir()
        services = [obj for backend in backends.values() for obj in echo_service(backend)]
        (staged / "app.yaml").write_text(manifest_text([*services, site_of("app.test", "blue")]))
        os.rename(staged, later)  # the folder appears at once, with its files
        site.wait_for(site.output.exists, "the config, once the folder exists")
        site.nginx = nginx_runner(
            site.output.read_text(), [site.http_port, site.status_port], prefix=site.prefix
        )
        site.wait_for(lambda: site.served_by("/", "app.test") == "blue", "the route")


def test_a_folder_recreated_empty_keeps_its_hosts_for_the_grace_period_then_drops_them(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path, "--empty-source-grace", "3") as site:
        shutil.rmtree(folder)
        folder.mkdir()
        site.wait_for(lambda: site.metric("ingress2nginx_empty_source_held") == 1, "the hold")
        assert site.stays(lambda: site.served_by("/", "stable.test") == "stable", 1.0)
        assert site.metric("ingress2nginx_config_in_sync") == 0 and site.metric(RELOADS) == 0
        site.wait_for(lambda: site.served_by("/", "stable.test") is None, "the hosts dropped")
        site.wait_for_metric(RELOADS, 1)
        assert site.metric("ingress2nginx_empty_source_held") == 0
        warnings = [e["message"] for e in site.log_events() if e["level"] == "warning"]
        assert any("suddenly holds no objects" in message for message in warnings)
        assert any("after the grace period" in message for message in warnings)


def test_a_folder_refilled_within_the_grace_period_costs_no_reload_and_no_request(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with (
        running_sidecar(nginx_runner, tmp_path, "--empty-source-grace", "60") as site,
        keep_alive_load(site, "stable.test", "stable") as clients,
    ):
        saved = (folder / "sites.yaml").read_text()
        shutil.rmtree(folder)
        folder.mkdir()
        site.wait_for(lambda: site.metric("ingress2nginx_empty_source_held") == 1, "the hold")
        (folder / "sites.yaml").write_text(saved)
        site.wait_for(lambda: site.metric("ingress2nginx_empty_source_held") == 0, "the refill")
        site.wait_for_metric("ingress2nginx_config_in_sync", 1)
        assert site.metric(RELOADS) == 0
    assert [(c.connections, c.failures) for c in clients] == [(1, [])] * CLIENTS


def test_the_grace_period_can_be_turned_off(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path, "--empty-source-grace", "0") as site:
        (folder / "sites.yaml").unlink()
        site.wait_for(lambda: site.served_by("/", "stable.test") is None, "the hosts dropped")
        assert site.metric("ingress2nginx_empty_source_held") == 0


def test_without_a_status_port_the_state_file_tells_a_restarted_watcher_not_to_reload(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write_manifests(folder / "sites.yaml", secured_sites(backends))
    with running_sidecar(nginx_runner, tmp_path) as site:
        assert site.nginx is not None
        nginx = site.nginx
        first = nginx.worker_pids()
        site.restart("--status-port", "0")  # a config without the status server: reloaded
        site.wait_for_metric(RELOADS, 1)
        site.wait_for(lambda: not nginx.worker_pids() & first, "the old workers gone")
        workers = nginx.worker_pids()
        with keep_alive_load(site, "stable.test", "stable") as clients:
            site.wait_for(lambda: all(c.answered >= 3 for c in clients), "the load")
            site.restart("--status-port", "0", kill=True)
            site.wait_for(lambda: site.http_status("/readyz") == 200, "the new watcher ready")
            assert site.metric(RELOADS) == 0 and site.nginx.worker_pids() == workers
        assert [(c.connections, c.failures) for c in clients] == [(1, [])] * CLIENTS
        assert adopted(site) == 1

        # killed between writing and reloading: no state file, so the next one reloads
        site.restart("--status-port", "0", "--reload-command", "kill -9 $PPID")
        site.wait_for(lambda: adopted(site) == 2, "the restarted watcher")
        site.exit_code = -9
        write_manifests(folder / "app.yaml", [site_of("app.test", "green")])
        site.wait_for(lambda: site.process.poll() is not None, "the watcher's death")
        site.restart("--status-port", "0")
        site.wait_for(lambda: site.served_by("/", "app.test") == "green", "the reload")
        site.wait_for_metric(RELOADS, 1)
