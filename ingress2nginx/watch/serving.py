"""Starting watch mode: the apply pipeline the options ask for, signals, and the loop run.

watching.py's `Watcher` is the loop; `serve` assembles one around a `Source` (files or the
cluster): it removes the temp files a killed watcher left, builds the validator, reloader and
confirmer (`build_pipeline`), starts the health and metrics server, and runs the loop until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from ingress2nginx.apply.applying import find_nginx
from ingress2nginx.apply.reloaders import (
    CommandReloader,
    Reloader,
    SignalReloader,
    StatusEndpoint,
)
from ingress2nginx.apply.reloading import ApplyPipeline
from ingress2nginx.apply.restarting import remove_leftover_temp_files
from ingress2nginx.apply.validators import (
    CommandValidator,
    NginxValidator,
    StructureValidator,
    Validator,
)
from ingress2nginx.core.logs import fields
from ingress2nginx.core.settings import Settings
from ingress2nginx.watch.dns import ResponderFeed
from ingress2nginx.watch.health import HealthServer, Metrics
from ingress2nginx.watch.watching import (
    DEFAULT_PID_FILE,
    AfterApply,
    Notify,
    Source,
    Watcher,
    WatchOptions,
    WatchStartError,
    log,
)


def build_pipeline(settings: Settings, options: WatchOptions) -> ApplyPipeline:
    """The apply pipeline the options ask for."""
    validator: Validator
    binary = find_nginx()
    if options.validate_command:
        validator = CommandValidator(options.validate_command)
    elif binary is not None:
        validator = NginxValidator(binary, options.nginx_prefix or settings.runtime_dir)
    else:
        validator = StructureValidator()
    reloader: Reloader
    if options.reload_command:
        reloader = CommandReloader(options.reload_command, options.output)
    else:
        reloader = SignalReloader(options.nginx_pid_file or default_pid_file(settings))
    confirmer = None
    if settings.status_port is not None:
        confirmer = StatusEndpoint(settings.status_port, options.confirm_timeout)
    return ApplyPipeline(
        options.output, settings.cert_dir, validator=validator, reloader=reloader,
        confirmer=confirmer,
    )  # fmt: skip


def default_pid_file(settings: Settings) -> Path:
    """Where the rendered config tells nginx to write its pid."""
    return settings.runtime_dir / "nginx.pid" if settings.runtime_dir else DEFAULT_PID_FILE


def serve(
    source: Source,
    settings: Settings,
    options: WatchOptions,
    after_apply: AfterApply | None = None,
    notify: Notify | None = None,
) -> int:
    """Watch `source` and keep nginx in step until SIGTERM or SIGINT; returns 0 then."""
    metrics = Metrics()
    health = None
    if options.metrics_port:
        address = options.metrics_address
        try:
            health = HealthServer(address, options.metrics_port, metrics).start()
        except OSError as error:
            where = f"{address}:{options.metrics_port}"
            raise WatchStartError(f"cannot serve metrics on {where}: {error}") from error
    if isinstance(source, ResponderFeed):
        metrics.follow_responder(lambda: source.responder)
    _remove_leftovers(options.output, settings.cert_dir)
    pipeline = build_pipeline(settings, options)
    watcher = Watcher(source, settings, pipeline, options, metrics, after_apply, notify)
    pid_file = options.nginx_pid_file or default_pid_file(settings)
    details = fields(
        source=source.name,
        output=str(options.output),
        validator=pipeline.validator.name,
        reload=options.reload_command or f"SIGHUP to the master in {pid_file}",
        metrics=f"{options.metrics_address}:{options.metrics_port}" if health else "off",
    )
    log.info("watching", extra=details)
    try:
        with _stopping_on_signals(watcher.stop):
            watcher.run()
    finally:
        if health is not None:
            health.close()
    log.info("stopped")
    return 0


def _remove_leftovers(output: Path, cert_dir: Path) -> None:
    """Delete the temp files a killed watcher left (restarting.py), saying which."""
    for path in remove_leftover_temp_files(output, cert_dir):
        log.info("removed a temp file left by an earlier watcher", extra=fields(file=str(path)))


@contextlib.contextmanager
def _stopping_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT stop the watcher cleanly (main thread only; elsewhere, no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(number: int, frame: object) -> None:
        # Python runs handlers on the main thread between bytecodes, maybe while it holds a
        # (non-reentrant) lock that stop() needs: stop from another thread instead.
        threading.Thread(target=stop, name="ingress2nginx-stop", daemon=True).start()

    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
