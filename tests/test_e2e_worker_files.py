"""The files nginx's workers open at each request (htpasswd) are readable by the workers,
whoever starts nginx: root with the default worker user, root with ``--nginx-user``, or an
unprivileged user — proven by basic authentication through the real nginx, with the workers'
user read from /proc."""

from __future__ import annotations

import contextlib
import copy
import grp
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import basic_credentials, secret, sha_hash
from e2e import echo_service, ingress, path, render, rule, started_backends, to
from harness import (
    LOOPBACK,
    Nginx,
    NginxRunner,
    _child_pids,
    free_port,
    make_prefix,
    request,
)
from watchrun import running_sidecar, write_manifests

from ingress2nginx.apply import workers

CREDENTIALS = basic_credentials("alice", "alice-pass")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start nginx as root")


def objects(backend: object) -> list[dict[str, object]]:
    site = ingress(
        "staff",
        rules=[rule("basic.test", path("/", to("app")))],
        annotations={
            "nginx.ingress.kubernetes.io/auth-type": "basic",
            "nginx.ingress.kubernetes.io/auth-secret": "staff",
        },
    )
    site["spec"]["tls"] = [{"hosts": ["basic.test"]}]  # type: ignore[index]
    return [site, secret("staff", {"auth": f"alice:{sha_hash('alice-pass')}\n"}),
            *echo_service(backend)]  # type: ignore[arg-type]  # fmt: skip


@contextlib.contextmanager
def rendered_for_root(*args: str) -> Iterator[tuple[Path, int, str]]:
    """The config rendered as root (this process) into a fresh prefix: (prefix, port, text)."""
    prefix, port = make_prefix(), free_port()
    try:
        with started_backends("app") as echo:
            done = render(objects(echo["app"]), "--listen-address", LOOPBACK, "--http-port",
                          str(port), "--https-port", str(free_port()), "--runtime-dir",
                          str(prefix), *args)  # fmt: skip
            assert done.code == 0, done.messages
            yield prefix, port, done.config
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def worker_ids(nginx: Nginx, expected: tuple[int, int]) -> set[tuple[int, int]]:
    """(uid, gid) of each worker of a running nginx, from /proc, once they all show
    `expected` or after 5 s (a worker forked by a root master switches user just after)."""
    deadline = time.monotonic() + 5
    while True:
        found = _worker_ids(nginx)
        if found == {expected} or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _worker_ids(nginx: Nginx) -> set[tuple[int, int]]:
    assert nginx._process is not None
    found = set()
    for pid in _child_pids(nginx._process.pid):
        status = Path(f"/proc/{pid}/status").read_text()
        ids = {line.split(":")[0]: line.split()[1] for line in status.splitlines()
               if line.startswith(("Uid:", "Gid:"))}  # fmt: skip
        found.add((int(ids["Uid"]), int(ids["Gid"])))
    return found


def mode_and_group(file: Path) -> tuple[int, int, int]:
    found = file.stat()
    return stat.S_IMODE(found.st_mode), found.st_uid, found.st_gid


def assert_basic_auth_works(port: int) -> None:
    assert_basic_auth_works_with(port, CREDENTIALS)


def assert_basic_auth_works_with(port: int, credentials: dict[str, str]) -> None:
    assert request(port, "/", host="basic.test").status == 401
    answer = request(port, "/", host="basic.test", headers=credentials)
    assert (answer.status, answer.backend) == (200, "app")


@needs_root
@pytest.mark.nginx
def test_nginx_started_as_root_reads_the_htpasswd_with_its_default_workers(
    nginx_binary: str,
) -> None:
    user, _ = workers.compiled_user()
    expected = pwd.getpwnam(user)
    with rendered_for_root() as (prefix, port, config):
        assert "\nuser " not in config  # the same output as anywhere else
        certs = prefix / "certs"
        htpasswd = certs / "auth-file-default_staff.htpasswd"
        assert mode_and_group(htpasswd) == (0o640, 0, expected.pw_gid)
        assert mode_and_group(certs) == (0o710, 0, expected.pw_gid)
        assert mode_and_group(certs / "default-server.key") == (0o600, 0, 0)
        with Nginx(config, [port], prefix=prefix, binary=nginx_binary) as nginx:
            ids = (expected.pw_uid, expected.pw_gid)
            assert worker_ids(nginx, ids) == {ids}
            assert_basic_auth_works(port)


@needs_root
@pytest.mark.nginx
def test_nginx_user_writes_the_user_directive_and_gives_the_files_to_its_group(
    nginx_binary: str,
) -> None:
    www = pwd.getpwnam("www-data")
    with rendered_for_root("--nginx-user", "www-data") as (prefix, port, config):
        assert "\nuser www-data www-data;\n" in config
        htpasswd = prefix / "certs" / "auth-file-default_staff.htpasswd"
        assert mode_and_group(htpasswd) == (0o640, 0, www.pw_gid)
        with Nginx(config, [port], prefix=prefix, binary=nginx_binary) as nginx:
            ids = (www.pw_uid, www.pw_gid)
            assert worker_ids(nginx, ids) == {ids}
            assert_basic_auth_works(port)


@needs_root
@pytest.mark.nginx
def test_a_root_only_htpasswd_is_what_made_basic_auth_answer_500(nginx_binary: str) -> None:
    """The control: the same config with the file 0600 root, as before, fails."""
    with rendered_for_root() as (prefix, port, config):
        (prefix / "certs" / "auth-file-default_staff.htpasswd").chmod(0o600)
        with Nginx(config, [port], prefix=prefix, binary=nginx_binary):
            assert request(port, "/", host="basic.test", headers=CREDENTIALS).status == 500


@contextlib.contextmanager
def effective_user(uid: int, gid: int) -> Iterator[None]:
    """Run as `uid`:`gid` (effective ids, no other group) until the block ends: the kernel
    checks every file access as that user; root's real id lets the test switch back."""
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


@needs_root
@pytest.mark.nginx
def test_rendered_and_served_unprivileged_the_files_stay_private(nginx_binary: str) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to start nginx as another user")
    nobody = pwd.getpwnam("nobody")
    prefix, port = make_prefix(), free_port()
    os.chown(prefix, nobody.pw_uid, nobody.pw_gid)
    try:
        with started_backends("app") as echo:
            with effective_user(nobody.pw_uid, nobody.pw_gid):
                done = render(objects(echo["app"]), "--listen-address", LOOPBACK, "--http-port",
                              str(port), "--https-port", str(free_port()), "--runtime-dir",
                              str(prefix), "-o",
                              str(prefix / "nginx.conf"))  # fmt: skip
            assert done.code == 0, done.messages
            config = prefix / "nginx.conf"
            assert "\nuser " not in config.read_text()
            htpasswd = prefix / "certs" / "auth-file-default_staff.htpasswd"
            assert mode_and_group(htpasswd) == (0o600, nobody.pw_uid, nobody.pw_gid)
            assert mode_and_group(prefix / "certs") == (0o700, nobody.pw_uid, nobody.pw_gid)
            command = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                       "--clear-groups", nginx_binary, "-p", str(prefix), "-e", "stderr", "-c",
                       str(config), "-g", "daemon off;"]  # fmt: skip
            nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                _wait_for(port, nginx)
                assert_basic_auth_works(port)
            finally:
                nginx.terminate()
                nginx.wait(timeout=10)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _wait_for(port: int, nginx: subprocess.Popen[bytes]) -> None:
    for _ in range(250):
        with contextlib.suppress(OSError):
            request(port, "/", host="basic.test")
            return
        if nginx.poll() is not None:
            raise AssertionError(nginx.stderr.read().decode() if nginx.stderr else "nginx exited")
        time.sleep(0.02)
    raise AssertionError("nginx did not start listening")


def test_nginx_user_names_a_missing_user_or_group_in_its_message() -> None:
    with pytest.raises(ValueError, match="no user 'no-such-user'"):
        workers.named_workers("no-such-user")
    with pytest.raises(ValueError, match="no group 'no-such-group'"):
        workers.named_workers("nobody:no-such-group")
    with pytest.raises(ValueError, match="not a user name"):
        workers.named_workers("bad name")


def test_the_user_directive_names_the_primary_group_explicitly() -> None:
    if os.geteuid() != 0:
        pytest.skip("run as another user, only its own groups may be named")
    nobody = pwd.getpwnam("nobody")
    found = workers.named_workers("nobody")
    assert found == workers.Workers(("nobody", grp.getgrgid(nobody.pw_gid).gr_name),
                                    nobody.pw_gid)  # fmt: skip


def test_run_unprivileged_without_the_option_no_directive_and_no_group() -> None:
    assert workers.default_workers(1000) == workers.Workers(None, None)


@needs_root
@pytest.mark.nginx
def test_watch_as_root_keeps_the_htpasswd_readable_by_the_workers_across_changes(
    nginx_runner: NginxRunner, tmp_path: Path
) -> None:
    def users(password: str) -> dict[str, object]:
        return secret("staff", {"auth": f"alice:{sha_hash(password)}\n"})

    with started_backends("app") as echo:
        plain = objects(echo["app"])
        site_ingress = copy.deepcopy(plain[0])
        del site_ingress["spec"]["tls"]  # type: ignore[attr-defined]  # no HTTPS: the other write
        with running_sidecar(nginx_runner, tmp_path) as site:
            write_manifests(site.folder / "app.yaml", [site_ingress, users("alice-pass"),
                                                        *plain[2:]])  # fmt: skip
            site.wait_for(lambda: request(site.http_port, "/", host="basic.test").status == 401,
                          "basic auth")  # fmt: skip
            assert_basic_auth_works(site.http_port)
            write_manifests(site.folder / "app.yaml", [site_ingress, users("new-pass"),
                                                        *plain[2:]])  # fmt: skip
            renewed = basic_credentials("alice", "new-pass")
            site.wait_for(
                lambda: (
                    request(site.http_port, "/", host="basic.test", headers=renewed).status == 200
                ),
                "the new password",
            )
            assert (
                request(site.http_port, "/", host="basic.test", headers=CREDENTIALS).status == 401
            )
            htpasswd = site.prefix / "certs" / "auth-file-default_staff.htpasswd"
            site.wait_for(lambda: mode_and_group(htpasswd)[0] == 0o640, "no other mode")
            assert site.stays(lambda: mode_and_group(htpasswd)[0] == 0o640, 0.5)
            assert_basic_auth_works_with(site.http_port, renewed)


def test_the_default_worker_user_is_read_from_nginx_build_arguments() -> None:
    official = "configure arguments: --prefix=/etc/nginx --user=nginx --group=nginx --with-http_ssl"
    assert workers.user_from_build(official) == ("nginx", "nginx")
    debian = "configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx"
    assert workers.user_from_build(debian) == ("nobody", None)
