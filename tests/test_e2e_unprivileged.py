"""With --runtime-dir the output runs unprivileged under ``nginx -p DIR -c FILE`` —
proven by running the real nginx as ``nobody`` on the rendered config, TLS included."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e import echo_service, ingress, manifest_text, path, rule, started_backends, to
from golden_cases import run_cli
from harness import LOOPBACK, free_port, make_prefix, request
from tls_secrets import tls_secret

NOBODY = 65534


def chown_tree(root: Path, uid: int) -> None:
    for folder, _, files in os.walk(root):
        os.chown(folder, uid, uid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, uid)


@pytest.mark.nginx
def test_the_rendered_config_runs_as_an_unprivileged_user(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start nginx as another user")
    prefix = make_prefix()
    http, https = free_port(), free_port()
    with started_backends("web") as echo:
        web = ingress("web", rules=[rule("web.test", path("/", to("web")))])
        web["spec"]["tls"] = [{"hosts": ["web.test"], "secretName": "web-tls"}]  # type: ignore[index]
        source = tmp_path / "in.yaml"
        source.write_text(manifest_text(
            [web, tls_secret("default", "web-tls", ["web.test"]), *echo_service(echo["web"])]
        ))  # fmt: skip
        config = prefix / "nginx.conf"
        rendered = run_cli(["render", str(source), "-o", str(config), "--runtime-dir",
                            str(prefix), "--listen-address", LOOPBACK, "--http-port", str(http),
                            "--https-port", str(https)])  # fmt: skip
        assert rendered.code == 0, rendered.messages
        chown_tree(prefix, NOBODY)
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-e", "stderr",
                   "-c", str(config), "-g", "daemon off;"]  # fmt: skip
        nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 5
            while True:
                try:
                    response = request(http, "/", host="web.test")
                    break
                except OSError as error:
                    if nginx.poll() is not None or time.monotonic() > deadline:
                        stderr = nginx.stderr.read().decode() if nginx.stderr else ""
                        raise AssertionError(stderr) from error
                    time.sleep(0.05)
            assert response.status == 308
            secure = request(
                https, "/big", host="web.test", tls=True, method="POST", body="x" * 200_000
            )  # a body nginx buffers to a temp file
            assert (secure.status, secure.backend) == (200, "web")
            assert (prefix / "nginx.pid").read_text().strip() == str(nginx.pid)
        finally:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
            shutil.rmtree(prefix, ignore_errors=True)
