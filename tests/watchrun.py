"""Helpers for watch-mode tests: ``ingress2nginx watch`` as a real sidecar process beside nginx.

The order is the realistic one for a pod: the sidecar starts first, renders and writes
nginx.conf; nginx then starts from that file (as a container that waits for its config would);
the sidecar sees nginx answer the config's identity on the status port and becomes ready. From
then on every change goes through validate, replace, SIGHUP (to the pid in the runtime dir, as
the config names it) and confirm::

    with started_backends("web") as echo:
        site = sidecar()                        # fixture below: watch + nginx, ready
        write_manifests(site.folder / "a.yaml", [ingress(...)])
        site.wait_for(lambda: site.served_by("/", "a.test") == "web", "the new route")

Every wait is bounded and polls; a timeout fails the test with the sidecar's log attached.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e import Obj, manifest_text
from harness import LOOPBACK, Nginx, NginxRunner, free_port, make_prefix, request

REPOSITORY = Path(__file__).resolve().parent.parent
POLL = 0.02
WAIT = 10.0


def write_manifests(path: Path, objects: Iterable[Obj]) -> None:
    """Save a manifest file as editors and ``kubectl`` tools do: a temp file renamed over it."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(manifest_text(objects))
    os.replace(temp, path)


class ConfigMapVolume:
    """A folder laid out and updated exactly as the kubelet does for a ConfigMap volume.

    Files live in a hidden ``..<timestamp>`` folder; ``..data`` links to it; each visible name
    links to ``..data/<name>``. `publish` writes a new timestamped folder, points ``..data_tmp``
    at it, renames ``..data_tmp`` over ``..data`` (the atomic swap), adds links for new names,
    removes links of dropped names and deletes the old folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._version = 0

    def publish(self, files: dict[str, str]) -> None:
        self._version += 1
        stamp = self.root / f"..2026_01_01_00_00_{self._version:02d}.{os.getpid()}"
        stamp.mkdir()
        for name, text in files.items():
            (stamp / name).write_text(text)
        data, temp = self.root / "..data", self.root / "..data_tmp"
        old = os.readlink(data) if data.is_symlink() else None
        os.symlink(stamp.name, temp)
        os.rename(temp, data)  # the swap: one rename of a link
        for name in files:
            link = self.root / name
            if not link.is_symlink():
                os.symlink(f"..data/{name}", link)
        for link in self.root.iterdir():
            if link.is_symlink() and not link.name.startswith("..") and link.name not in files:
                link.unlink()
        if old is not None:
            shutil.rmtree(self.root / old)


@dataclass
class Sidecar:
    """A running ``ingress2nginx watch`` and the nginx it drives."""

    folder: Path
    """The watched manifest folder."""
    prefix: Path
    """nginx's prefix and the sidecar's --runtime-dir; nginx.conf is written here."""
    http_port: int
    status_port: int
    metrics_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    nginx: Nginx | None = None
    exit_code: int | None = field(default=None)
    command: list[str] = field(default_factory=list)
    """The watch command line, without the options `restart` may add."""

    def restart(self, *extra: str, kill: bool = False) -> None:
        """Stop the watcher (SIGTERM, or SIGKILL with `kill`: no clean-up at all) and start
        it again with the same command plus `extra`, nginx left running; its log goes on in
        the same file."""
        self.terminate(signal.SIGKILL if kill else signal.SIGTERM)
        self.exit_code = None
        self.process = _start_watch([*self.command, *extra], self.log_path)

    @property
    def output(self) -> Path:
        return self.prefix / "nginx.conf"

    # -- probing

    def served_by(self, target: str, host: str) -> str | None:
        """The echo backend answering; None for nginx's own answer; "down" when unreachable."""
        try:
            response = request(self.http_port, target, host=host, timeout=2.0)
        except OSError:
            return "down"
        return response.backend

    def http_status(self, path: str) -> int:
        """Status of GET ``path`` on the sidecar's metrics port (0 when it does not answer)."""
        try:
            return request(self.metrics_port, path, host=LOOPBACK, timeout=2.0).status
        except OSError:
            return 0

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples, by name with labels (``name{le="0.1"}``)."""
        try:
            text = request(self.metrics_port, "/metrics", host=LOOPBACK, timeout=2.0).text
        except OSError:
            return {}
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def metric(self, name: str) -> float:
        return self.metrics().get(name, float("nan"))

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict[str, Any]]:
        """The sidecar's log lines (``--log-format json``), parsed."""
        return [json.loads(line) for line in self.log.splitlines() if line.startswith("{")]

    # -- waiting

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        """Poll `condition` until it is true; fail with the sidecar's log after `timeout`."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None and self.exit_code is None:
                pytest.fail(f"watch exited {self.process.returncode} while waiting for {what}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}\n{self.log[-4000:]}")
            time.sleep(POLL)

    def stays(self, condition: Callable[[], object], seconds: float) -> bool:
        """Whether `condition` holds at every poll for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not condition():
                return False
            time.sleep(POLL)
        return True

    def wait_for_metric(self, name: str, value: float) -> None:
        self.wait_for(lambda: self.metric(name) == value, f"{name} == {value}")

    # -- stopping

    def terminate(self, signal_number: int = signal.SIGTERM, timeout: float = WAIT) -> int:
        """Signal the watcher and return its exit code (bounded)."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
                pytest.fail(f"watch did not exit within {timeout}s of signal {signal_number}")
        self.exit_code = self.process.returncode
        return self.exit_code


def _start_watch(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=REPOSITORY,
            env=environment,
        )


def watch_command(sidecar_args: list[str], sources: list[str]) -> list[str]:
    return [sys.executable, "-m", "ingress2nginx", "watch", *sources, *sidecar_args]


@contextlib.contextmanager
def running_sidecar(
    runner: NginxRunner,
    base: Path,
    *extra: str,
    sources: list[str] | None = None,
    start_nginx: bool = True,
) -> Iterator[Sidecar]:
    """Start watch on ``base/manifests`` (or `sources`; ``[]`` for none, with
    ``--from-cluster``), then nginx from its output."""
    folder = base / "manifests"
    folder.mkdir(exist_ok=True)
    prefix = make_prefix()
    http_port, status_port, metrics_port = free_port(), free_port(), free_port()
    arguments = [
        *("-o", str(prefix / "nginx.conf"), "--runtime-dir", str(prefix)),
        *("--listen-address", LOOPBACK, "--http-port", str(http_port)),
        *("--https-port", str(free_port())),
        *("--status-port", str(status_port), "--metrics-port", str(metrics_port)),
        *("--metrics-address", LOOPBACK, "--resolver", LOOPBACK, "--log-format", "json"),
        *("--debounce", "0.1", "--max-delay", "1", "--confirm-timeout", "5"),
        *extra,
    ]
    log_path = base / "watch.log"
    log_path.unlink(missing_ok=True)
    command = watch_command(arguments, [str(folder)] if sources is None else sources)
    process = _start_watch(command, log_path)
    site = Sidecar(folder, prefix, http_port, status_port, metrics_port, process, log_path)
    site.command = command
    try:
        if start_nginx:
            site.wait_for(site.output.exists, "the first nginx.conf")
            site.nginx = runner(site.output.read_text(), [http_port, status_port], prefix=prefix)
            site.wait_for(lambda: site.http_status("/readyz") == 200, "readiness")
        yield site
    finally:
        site.terminate()
        if site.nginx is not None:
            site.nginx.stop()
        shutil.rmtree(prefix, ignore_errors=True)


@dataclass
class Load:
    """What `steady_load` saw: how many requests were answered, and every wrong answer."""

    answered: int = 0
    failures: list[str] = field(default_factory=list)


@contextlib.contextmanager
def steady_load(site: Sidecar, host: str, expected: str) -> Iterator[Load]:
    """Request ``/`` on `host` back to back over one keep-alive connection in the background
    (as a busy client does), counting every answer not from the `expected` backend. A
    connection nginx closes on a reload (idle keep-alive connections of old workers) is
    reopened and the request sent again once, as HTTP clients do for idempotent requests."""
    load, done = Load(), threading.Event()

    def answer(connection: http.client.HTTPConnection) -> str | None:
        connection.request("GET", "/", headers={"Host": host})
        response = connection.getresponse()
        response.read()
        return response.getheader("X-Echo-Backend") or f"status {response.status}"

    def run() -> None:
        connection = http.client.HTTPConnection(LOOPBACK, site.http_port, timeout=5)
        while not done.is_set():
            try:
                backend = answer(connection)
            except (OSError, http.client.HTTPException):
                connection.close()
                try:
                    backend = answer(connection)
                except (OSError, http.client.HTTPException) as error:
                    backend = f"error {error!r}"
                    connection.close()
            load.answered += 1
            if backend != expected:
                load.failures.append(f"{host}: {backend}")
        connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield load
    finally:
        done.set()
        thread.join(timeout=10)
