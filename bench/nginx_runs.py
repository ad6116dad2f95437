"""nginx on the bench output: ``nginx -t`` as a sidecar runs it, and a start then a reload.

nginx runs in the scratch prefix on free loopback ports; the output already sends its pid
file and temp paths there (``--runtime-dir``), so nothing outside the scratch folder is touched.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from figures import Result

"""The target on the 10,000 bench: the figure must be at most this."""
NGINX_WAIT_SECONDS = 300.0


def find_nginx(explicit: str | None) -> str | None:
    """The nginx to run: the one named, else from PATH or /usr/sbin; None when there is none."""
    return explicit or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def check_with_nginx(args: argparse.Namespace, run: Path, result: Result) -> None:
    """One ``nginx -t`` of ``run/nginx.conf`` in the scratch prefix, the way a sidecar
    validates before it reloads; the certificates are there, so nginx really loads them."""
    config = run / "nginx.conf"
    command = [args.nginx, "-t", "-p", f"{run}/", "-c", str(config), "-e", "stderr"]
    started = time.perf_counter()
    check = subprocess.run(command, capture_output=True, text=True, check=False)
    result.nginx_t_runs.append(time.perf_counter() - started)
    if check.returncode != 0:
        result.nginx_error = check.stderr.strip()[-2000:]
        return
    warnings = {
        re.sub(r"^\d+#\d+: ", "", line.split("] ", 1)[-1])
        for line in check.stderr.splitlines()
        if "[warn]" in line
    }
    result.nginx_warnings = sorted(warnings)


def start_and_reload(nginx: str, run: Path, edited: str, port: int, result: Result) -> None:
    """Start nginx on the output, then reload it to the edited config."""
    config = run / "nginx.conf"
    command = [nginx, "-p", f"{run}/", "-c", str(config), "-e", "stderr", "-g", "daemon off;"]
    workers = os.cpu_count() or 1  # the output says worker_processes auto
    with open(run / "nginx.stderr", "wb") as stderr:
        started = time.perf_counter()
        master = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            if not _wait(lambda: _answers(port), started, master):
                return
            result.nginx_start = time.perf_counter() - started
            if not _wait(lambda: len(_children(master.pid)) >= workers, started, master):
                return
            old = _children(master.pid)
            config.write_text(edited, encoding="utf-8")
            started = time.perf_counter()
            master.send_signal(signal.SIGHUP)
            if not _wait(lambda: len(_children(master.pid) - old) >= workers, started, master):
                return
            result.nginx_reload = time.perf_counter() - started
            if _wait(lambda: not (_children(master.pid) & old), started, master):
                result.nginx_reload_done = time.perf_counter() - started
            result.nginx_rss_mb = _rss_mb(master.pid)
        finally:
            master.send_signal(signal.SIGQUIT)
            try:
                master.wait(timeout=60)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()


def _wait(ready: Callable[[], bool], started: float, process: subprocess.Popen[bytes]) -> bool:
    while time.perf_counter() - started < NGINX_WAIT_SECONDS:
        if process.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.002)
    return False


def _answers(port: int) -> bool:
    """Whether nginx answers HTTP on the port (a Host no rule names: the catch-all's 404)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(
                b"GET / HTTP/1.1\r\nHost: bench.invalid\r\nConnection: close\r\n\r\n"
            )
            return connection.recv(16).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (zombies excluded)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.add(int(entry))
    return found


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None
