"""The apply pipeline (reloading.py), in process: validate, install, reload, confirm, or keep.

With real nginx, configs nginx refuses are shown never to reach it: one ``nginx -t`` refuses
(never installed), one nginx refuses only when loading it (a port already taken: written back
and reported). A rotated certificate alone makes a reload. Without nginx, the pieces: the
identity, the validate and reload commands, the bind-mount fallback, the pid-file guard.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e import Obj, echo_service, ingress, manifest_text, path, rule, to
from harness import LOOPBACK, EchoBackendFactory, Nginx, NginxRunner, free_port, request
from tls_secrets import tls_secret

from ingress2nginx.apply import reloading
from ingress2nginx.apply.reloaders import (
    CommandReloader,
    SignalReloader,
    StatusEndpoint,
    Step,
    master_pid,
)
from ingress2nginx.apply.reloading import ApplyPipeline, DesiredConfig, desired_config
from ingress2nginx.apply.validators import CommandValidator, NginxValidator, StructureValidator
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.model import CertificateFile, Config
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.render.rendering import IDENTITY_PLACEHOLDER, Renderer
from ingress2nginx.sources.loading import load_text

MINIMAL = "events {}\nhttp {\n    server {\n        # ingress2nginx\n    }\n}\n"


class Live:
    """Settings, a renderer and a pipeline for one nginx on loopback (started by `start`)."""

    def __init__(self, prefix: Path, binary: str, confirm_timeout: float = 3.0) -> None:
        self.http_port, self.status_port = free_port(), free_port()
        self.settings = Settings(
            http_port=self.http_port,
            https_port=free_port(),
            listen_address=LOOPBACK,
            runtime_dir=prefix,
            cert_dir=prefix / "certs",
            resolver=(LOOPBACK,),
            status_port=self.status_port,
        )
        self.renderer = Renderer(self.settings)
        self.pipeline = ApplyPipeline(
            prefix / "nginx.conf",
            prefix / "certs",
            validator=NginxValidator(binary),
            reloader=SignalReloader(prefix / "nginx.pid"),
            confirmer=StatusEndpoint(self.status_port, confirm_timeout),
        )
        self.nginx: Nginx | None = None

    def desired(self, objects: list[Obj], edit: tuple[str, str] | None = None) -> DesiredConfig:
        loaded = load_text(manifest_text(objects), "test.yaml")
        translation = normalize(Inventory.build(loaded.manifests), self.settings)
        text = self.renderer.render(translation.config)
        if edit is not None:
            assert edit[0] in text
            text = text.replace(edit[0], edit[1], 1)
        return desired_config(text, translation.config)

    def start(self, runner: NginxRunner, desired: DesiredConfig) -> None:
        """The sidecar order: apply first (nginx not running yet), start nginx from the file."""
        outcomes: list[reloading.ApplyOutcome] = []
        thread = threading.Thread(target=lambda: outcomes.append(self.pipeline.apply(desired)))
        thread.start()
        output = self.pipeline.output
        self.nginx = runner(
            _wait_for_file(output), [self.http_port, self.status_port], prefix=output.parent
        )
        thread.join(timeout=10)
        assert outcomes and outcomes[0].ok and not outcomes[0].reloaded, outcomes

    def served_by(self, host: str) -> str | None:
        return request(self.http_port, "/", host=host).backend


def eventually(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    """Poll `condition` (bounded). Right after a confirmed reload, nginx's old workers may
    still accept a connection for a few milliseconds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _wait_for_file(path: Path) -> str:
    for _ in range(500):
        if path.exists():
            return path.read_text()
        threading.Event().wait(0.01)
    raise AssertionError(f"{path} never appeared")


@pytest.fixture
def live(nginx_binary: str, nginx_prefix: Path) -> Live:
    return Live(nginx_prefix, nginx_binary)


def site(host: str, service: str) -> Obj:
    return ingress(host.split(".")[0], rules=[rule(host, path("/", to(service)))])


def test_a_config_nginx_t_refuses_is_never_installed_and_nginx_keeps_the_old_one(
    live: Live, nginx_runner: NginxRunner, echo_backends: EchoBackendFactory
) -> None:
    (blue,) = echo_backends("blue")
    live.start(nginx_runner, live.desired([*echo_service(blue), site("a.test", "blue")]))
    installed = live.pipeline.output.read_text()
    broken = live.desired(
        [*echo_service(blue), site("b.test", "blue")],
        edit=("    server_tokens off;\n", "    server_tokens off;\n    no_such_directive on;\n"),
    )
    outcome = live.pipeline.apply(broken)
    assert outcome.failed_step is Step.VALIDATE
    assert "unknown directive" in outcome.reason and str(live.pipeline.output) in outcome.reason
    assert live.pipeline.output.read_text() == installed
    assert not list(live.pipeline.output.parent.glob(".nginx.conf.*"))  # temp file removed
    assert live.served_by("a.test") == "blue"
    assert live.pipeline.applied is not None and live.pipeline.applied.text == installed


def test_a_config_nginx_refuses_when_loading_it_is_written_back_then_applied_once_possible(
    nginx_binary: str,
    nginx_prefix: Path,
    nginx_runner: NginxRunner,
    echo_backends: EchoBackendFactory,
) -> None:
    live = Live(nginx_prefix, nginx_binary, confirm_timeout=3.5)
    (blue,) = echo_backends("blue")
    live.start(nginx_runner, live.desired([*echo_service(blue), site("a.test", "blue")]))
    installed = live.pipeline.output.read_text()
    busy = socket.create_server((LOOPBACK, 0))  # nginx -t ignores a taken port; a reload fails
    port = busy.getsockname()[1]
    extra = f"    server {{\n        listen {LOOPBACK}:{port};\n    }}\n\n    # Watch mode only"
    objects = [*echo_service(blue), site("a.test", "blue"), site("b.test", "blue")]
    desired = live.desired(objects, edit=("    # Watch mode only", extra))
    with busy:
        outcome = live.pipeline.apply(desired)
    assert outcome.failed_step is Step.CONFIRM, outcome
    assert "still runs config" in outcome.reason and "written back" in outcome.reason
    assert live.pipeline.output.read_text() == installed
    assert live.served_by("a.test") == "blue" and live.served_by("b.test") is None

    retried = live.pipeline.apply(desired)  # the port is free now: the retry goes through
    assert retried.ok and retried.reloaded, retried
    assert eventually(lambda: live.served_by("b.test") == "blue")


def test_a_rotated_certificate_alone_reloads_nginx_which_then_presents_it(
    live: Live, nginx_runner: NginxRunner, echo_backends: EchoBackendFactory
) -> None:
    (blue,) = echo_backends("blue")
    app = site("shop.test", "blue")
    app["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    first = live.desired(
        [*echo_service(blue), app, tls_secret("default", "shop-tls", ["shop.test"])]
    )
    live.start(nginx_runner, first)
    port = live.settings.https_port
    before = request(port, "/", host="shop.test", tls=True).certificate
    rotated = live.desired(
        [*echo_service(blue), app, tls_secret("default", "shop-tls", ["shop.test"])]
    )
    assert rotated.text.replace(rotated.identity, "") == first.text.replace(first.identity, "")
    outcome = live.pipeline.apply(rotated)
    assert outcome.ok and outcome.reloaded and outcome.identity != first.identity
    assert before is not None

    def presented() -> bytes | None:
        certificate = request(port, "/", host="shop.test", tls=True).certificate
        return certificate.der if certificate else None

    assert eventually(lambda: presented() not in (None, before.der))


def test_the_identity_hashes_the_text_before_stamping_and_is_stamped_once() -> None:
    config = Config(servers=(), upstreams=(), routes=(), resolves_at_request_time=False)
    desired = desired_config(f"return 200 {IDENTITY_PLACEHOLDER};\n", config)
    assert desired.text == f"return 200 {desired.identity};\n"
    assert len(desired.identity) == 64
    assert desired_config(f"return 200 {IDENTITY_PLACEHOLDER};\n", config) == desired
    other = desired_config(f"return 201 {IDENTITY_PLACEHOLDER};\n", config)
    assert other.identity != desired.identity


def test_a_changed_certificate_alone_changes_the_identity() -> None:
    def with_key(key: bytes) -> Config:
        certificate = CertificateFile("tls-default_a", "default/a", b"chain", key)
        return Config((), (), (), False, certificates=(certificate,), https=True)

    one, two = desired_config(MINIMAL, with_key(b"k1")), desired_config(MINIMAL, with_key(b"k2"))
    assert one.text == two.text and one.identity != two.identity


class Recorder:
    """A reloader that records its calls and fails while `failing` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    def reload(self) -> bool:
        self.calls += 1
        if self.failing:
            raise reloading.ApplyError(Step.RELOAD, "nginx said no")
        return True


def offline(tmp_path: Path, reloader: object, **changes: object) -> ApplyPipeline:
    options: dict[str, object] = {
        "validator": StructureValidator(),
        "reloader": reloader,
        "confirmer": None,
    }
    options.update(changes)
    return ApplyPipeline(tmp_path / "nginx.conf", tmp_path / "certs", **options)  # type: ignore[arg-type]


def minimal(body: str = "") -> DesiredConfig:
    config = Config(servers=(), upstreams=(), routes=(), resolves_at_request_time=False)
    return desired_config(MINIMAL.replace("# ingress2nginx", f"# ingress2nginx {body}"), config)


def test_an_unchanged_config_is_neither_written_nor_reloaded(tmp_path: Path) -> None:
    recorder = Recorder()
    pipeline = offline(tmp_path, recorder)
    assert pipeline.apply(minimal()).changed
    stamp = pipeline.output.stat().st_mtime_ns
    again = pipeline.apply(minimal())
    assert again.ok and not again.changed
    assert recorder.calls == 1 and pipeline.output.stat().st_mtime_ns == stamp


def test_a_failed_reload_writes_the_last_good_config_back_and_is_retried(tmp_path: Path) -> None:
    recorder = Recorder()
    pipeline = offline(tmp_path, recorder)
    assert pipeline.apply(minimal("one")).ok
    recorder.failing = True
    failed = pipeline.apply(minimal("two"))
    assert failed.failed_step is Step.RELOAD and "written back" in failed.reason
    assert "one" in pipeline.output.read_text()
    recorder.failing = False
    assert pipeline.apply(minimal("two")).ok  # not forgotten: the same config is applied again
    assert "two" in pipeline.output.read_text() and recorder.calls == 3


def test_a_reload_command_that_fails_is_reported_with_its_output(tmp_path: Path) -> None:
    command = CommandReloader('echo "reload refused for $CONFIG" >&2; exit 3', tmp_path / "x")
    outcome = offline(tmp_path, command).apply(minimal())
    assert outcome.failed_step is Step.RELOAD
    assert outcome.reason == f"the reload command exited 3: reload refused for {tmp_path / 'x'}"


def test_the_validate_command_checks_the_temp_file_beside_the_output(tmp_path: Path) -> None:
    script = f'test "$(dirname {{}})" = {tmp_path} && test "$CONFIG" = {{}} && grep -q http {{}}'
    pipeline = offline(tmp_path, Recorder(), validator=CommandValidator(script))
    assert pipeline.apply(minimal()).ok
    refusing = offline(tmp_path, Recorder(), validator=CommandValidator("echo no way >&2; false"))
    outcome = refusing.apply(minimal("other"))
    assert outcome.failed_step is Step.VALIDATE
    assert outcome.reason == "validate command refused the config: no way"


def test_a_single_file_bind_mount_is_rewritten_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = offline(tmp_path, Recorder())
    pipeline.output.write_text("old\n")
    inode = pipeline.output.stat().st_ino

    def busy(source: object, target: object) -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(os, "replace", busy)
    assert pipeline.apply(minimal("mounted")).ok
    assert "mounted" in pipeline.output.read_text()
    assert pipeline.output.stat().st_ino == inode


def test_certificate_files_in_use_are_kept_until_a_config_without_them_is_applied(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    pipeline = offline(tmp_path, recorder)
    old = CertificateFile("tls-default_old", "default/old", b"old chain", b"old key")
    with_old = dataclasses.replace(minimal().config, certificates=(old,), https=True)
    assert pipeline.apply(desired_config(MINIMAL, with_old)).ok
    assert (tmp_path / "certs" / "tls-default_old.key").read_bytes() == b"old key"
    recorder.failing = True
    assert not pipeline.apply(minimal("without")).ok
    assert (tmp_path / "certs" / "tls-default_old.key").exists()  # the running config needs it
    recorder.failing = False
    assert pipeline.apply(minimal("without")).ok
    assert not (tmp_path / "certs" / "tls-default_old.key").exists()


def test_only_a_live_nginx_master_named_by_the_pid_file_is_signalled(tmp_path: Path) -> None:
    pid_file = tmp_path / "nginx.pid"
    assert master_pid(pid_file) is None  # no file: nginx not started yet
    with subprocess.Popen(["sleep", "30"]) as other:
        pid_file.write_text(f"{other.pid}\n")
        assert master_pid(pid_file) is None  # a stale pid now used by another program
        assert SignalReloader(pid_file).reload() is False
        other.kill()
    pid_file.write_text("not a pid\n")
    assert master_pid(pid_file) is None


def test_without_a_running_nginx_the_confirmation_times_out_with_a_reason(
    tmp_path: Path,
) -> None:
    endpoint = StatusEndpoint(free_port(), timeout=0.2)
    pipeline = offline(tmp_path, SignalReloader(tmp_path / "nginx.pid"), confirmer=endpoint)
    text = minimal().text.replace("# ingress2nginx", f"return 200 {IDENTITY_PLACEHOLDER};")
    outcome = pipeline.apply(desired_config(text, minimal().config))
    assert outcome.failed_step is Step.CONFIRM
    assert "did not answer" in outcome.reason


def test_a_template_without_the_status_server_is_reported_when_confirming(
    tmp_path: Path,
) -> None:
    endpoint = StatusEndpoint(free_port(), timeout=0.2)
    outcome = offline(tmp_path, Recorder(), confirmer=endpoint).apply(minimal())
    assert outcome.failed_step is Step.RENDER and "status server" in outcome.reason


def test_without_a_status_port_a_restarted_pipeline_trusts_the_state_file_until_files_change(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    assert offline(tmp_path, recorder).apply(minimal("one")).reloaded
    output = tmp_path / "nginx.conf"
    stamp = output.stat().st_mtime_ns
    restarted = offline(tmp_path, recorder).apply(minimal("one"))  # a new watcher, same config
    assert restarted.ok and restarted.adopted and not restarted.reloaded
    assert recorder.calls == 1 and output.stat().st_mtime_ns == stamp

    output.write_text(output.read_text() + "# edited\n")  # the file no longer proves anything
    assert offline(tmp_path, recorder).apply(minimal("one")).reloaded and recorder.calls == 2

    recorder.failing = True  # a reload that fails: the state file is gone, not left stale
    assert offline(tmp_path, recorder).apply(minimal("two")).failed_step is Step.RELOAD
    recorder.failing = False
    assert not (tmp_path / ".nginx.conf.applied").exists()
    assert offline(tmp_path, recorder).apply(minimal("one")).reloaded and recorder.calls == 4


def test_the_state_file_never_makes_a_dead_nginx_look_like_it_runs_the_config(
    tmp_path: Path,
) -> None:
    assert offline(tmp_path, Recorder()).apply(minimal("one")).ok
    assert (tmp_path / ".nginx.conf.applied").exists()
    outcome = offline(tmp_path, SignalReloader(tmp_path / "nginx.pid")).apply(minimal("one"))
    assert outcome.failed_step is Step.RELOAD and "not running" in outcome.reason
