"""The watch loop: when the sources change, a debounced apply pipeline keeps nginx in step.

``ingress2nginx watch`` runs beside nginx, as a sidecar in nginx's Pod. It renders at start,
then waits for changes; a burst of changes is coalesced by a `Debouncer` (quiet period + maximum
delay), the sources are read again, translated with ONE long-lived `Translator` (it keeps what
it derived from unchanged objects) and rendered with ONE long-lived `Renderer` (it reuses the
server blocks that did not change), the garbage collector paused meanwhile (collecting.py). The
result goes through reloading.py's `ApplyPipeline`, which validates, installs, reloads and
confirms it, or keeps the last good config. A failed pass is retried with exponential backoff; a
periodic resync re-reads the sources even without events, as a safety net for missed ones.

Sources
-------
Anything holding Kubernetes objects drives the loop by implementing `Source`:

- ``name``: a short word for logs (``files``, ``cluster``).
- ``start(changed)``: begin observing; call ``changed(reason)`` from any thread, as often as
  needed, whenever the objects may have changed. The loop debounces these calls.
- ``snapshot() -> LoadResult``: every object as it is now, like `load_sources` returns. Called
  on the loop's thread only, so a source may keep caches without locks. Raising
  `SourceError` means "cannot tell now": the pass fails, nginx keeps the last good config,
  and the pass is retried.
- ``stop()``: end observing; called once, on the loop's thread, when the watcher stops.

files.py's `FileSource` is the file one (watchdog). A Kubernetes API source lists,
then watches, keeps the objects in memory, calls ``changed`` on each event and answers
``snapshot`` from memory: ``serve(ClusterSource(...), settings, options)`` (serving.py) then
shares the
rest (debounce, render, validate, reload, confirm, retries, metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingress2nginx.apply.reloaders import (
    Step,
)
from ingress2nginx.apply.reloading import ApplyOutcome, ApplyPipeline, DesiredConfig, desired_config
from ingress2nginx.apply.trials import isolate_for_watch
from ingress2nginx.core.backoff import Backoff
from ingress2nginx.core.codes import Code
from ingress2nginx.core.collecting import PassCollector
from ingress2nginx.core.errors import Ingress2NginxError, Problem, Severity
from ingress2nginx.core.logs import fields
from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.lastgood import LastGood, Notice, notices
from ingress2nginx.normalize.normalizing import HELD_CODE, Translation, Translator
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.sources.loading import LoadResult
from ingress2nginx.watch.debouncing import Debouncer, Wake
from ingress2nginx.watch.grace import DEFAULT_SECONDS as EMPTY_SOURCE_GRACE_SECONDS
from ingress2nginx.watch.grace import EmptySourceGrace
from ingress2nginx.watch.health import Metrics

log = logging.getLogger("ingress2nginx.watch")
__all__ = ["Backoff", "Debouncer", "Source", "Wake", "WatchOptions", "Watcher"]

DEFAULT_PID_FILE = Path("/run/nginx.pid")
"""The pid file of Debian's and the official image's nginx, used without --runtime-dir."""
_LOG_LEVELS = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING}


AfterApply = Callable[[Translation, LoadResult], None]
"""Called after each pass that left nginx running the sources' config."""


Notify = Callable[[Sequence[Notice]], None]
"""Called after each pass with what to tell about rejected and refused Ingresses."""


class WatchStartError(Ingress2NginxError):
    """The watcher could not start (a port in use): nothing was applied."""


class Source(Protocol):
    """Where the objects come from; see the module docstring."""

    name: str

    def start(self, changed: Callable[[str], None]) -> None: ...

    def snapshot(self) -> LoadResult: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How to watch and apply (the ``watch`` command's own options)."""

    output: Path
    debounce: float = 0.5
    """Quiet period: apply once no change came for this long (seconds)."""
    max_delay: float = 5.0
    """Apply at most this long after the first change of a burst, even if it goes on."""
    resync_interval: float = 60.0
    """Re-read the sources this often without events; 0 turns it off."""
    reload_command: str | None = None
    nginx_pid_file: Path | None = None
    """Default: the pid path the config itself names (``RUNTIME_DIR/nginx.pid``)."""
    validate_command: str | None = None
    nginx_prefix: Path | None = None
    """``-p`` for ``nginx -t``; default: --runtime-dir (output made with it runs as ``nginx -p
    RUNTIME_DIR``), else nginx's compiled-in prefix."""
    confirm_timeout: float = 10.0
    metrics_port: int = 0
    """0: no health or metrics server."""
    metrics_address: str = "0.0.0.0"
    quiet: bool = False
    """Log warnings and errors about the input, not notes."""
    empty_source_grace: float = EMPTY_SOURCE_GRACE_SECONDS
    """How long a source that held objects may hold none before every host is dropped."""


# --- the loop --------------------------------------------------------------------------------


class Watcher:
    """Runs passes (load, render, apply) on changes, retries and resyncs, until stopped."""

    def __init__(
        self,
        source: Source,
        settings: Settings,
        pipeline: ApplyPipeline,
        options: WatchOptions,
        metrics: Metrics,
        after_apply: AfterApply | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.after_apply = after_apply
        """Told of each translation nginx runs (the Ingress status publisher listens here)."""
        self.source = source
        self.settings = settings
        self.pipeline = pipeline
        self.options = options
        self.metrics = metrics
        self.translator = Translator(settings)
        self.renderer = Renderer(settings)
        self.collector = PassCollector()
        self.debouncer = Debouncer(options.debounce, options.max_delay)
        self.last_good = LastGood()
        """The Ingress versions nginx last ran, and the ones it refused (lastgood.py)."""
        self.notify = notify
        """Told, each pass, of the Ingresses rejected or refused (cluster Events listen)."""
        self._stopping = threading.Event()
        self._backoff = Backoff()
        self._reported: set[str] = set()
        self.grace = EmptySourceGrace(options.empty_source_grace)

    def stop(self) -> None:
        """Ask the loop to end; safe from any thread and from signal handlers."""
        self._stopping.set()
        self.debouncer.stop()

    def run(self) -> None:
        """Observe the source and apply until `stop`."""
        self.source.start(self.debouncer.poke)
        try:
            trigger: str | None = "start"
            while trigger is not None and not self._stopping.is_set():
                ok = self.pass_once(trigger)
                retry_at = self.grace.until  # an empty source held back: look again then
                if ok:
                    self._backoff.reset()
                elif retry_at is None:
                    retry_at = time.monotonic() + self._backoff.next()
                trigger = self._next_trigger(retry_at)
        finally:
            self.source.stop()

    def _next_trigger(self, retry_at: float | None) -> str | None:
        interval = self.options.resync_interval
        resync_at = time.monotonic() + interval if interval > 0 else None
        deadline = min((at for at in (resync_at, retry_at) if at is not None), default=None)
        wake = self.debouncer.wait(deadline)
        if wake.stopped:
            return None
        if wake.count:
            hidden = wake.count - len(wake.reasons)
            return "; ".join(wake.reasons) + (f" (+{hidden} more)" if hidden else "")
        return "retry" if retry_at is not None and deadline == retry_at else "resync"

    def pass_once(self, trigger: str) -> bool:
        """Load, render and apply once; whether nginx now runs the sources' config."""
        try:
            return self._pass(trigger)
        finally:
            self.collector.after_pass()

    def _pass(self, trigger: str) -> bool:
        started = time.perf_counter()
        try:
            with self.collector.paused():
                loaded = self.source.snapshot()
                if self._held(loaded):
                    return False
                inventory, refused = self.last_good.prepare(Inventory.build(loaded.manifests))
                translation, desired = self._render(inventory)
        except Exception as error:
            self.metrics.render_errors.inc()
            self.metrics.in_sync.set(0)
            message = "could not render; nginx keeps the last good config"
            if isinstance(error, Ingress2NginxError):
                log.error(message, extra=fields(trigger=trigger, reason=str(error)))
            else:
                log.exception(message + " (a bug)", extra=fields(trigger=trigger))
            return False
        self.metrics.render_duration.observe(time.perf_counter() - started)
        self.metrics.renders.inc()
        self._tell([*loaded.problems, *refused, *translation.problems], translation, inventory)
        try:
            outcome = self.pipeline.apply(desired, self._stopping)
            if outcome.failed_step is Step.VALIDATE and not self._stopping.is_set():
                isolated = self._isolate(outcome.reason, desired, inventory, translation)
                if isolated is not None:
                    translation, desired, found = isolated
                    problems = [*loaded.problems, *refused, *found, *translation.problems]
                    self._tell(problems, translation, inventory)
                    outcome = self.pipeline.apply(desired, self._stopping)
        except Exception:
            log.exception("apply failed unexpectedly (a bug)", extra=fields(trigger=trigger))
            self.metrics.in_sync.set(0)
            return False
        self._record(outcome, trigger)
        if outcome.ok:
            self.last_good.applied(translation)
            if self.after_apply is not None:
                self.after_apply(translation, loaded)
        return outcome.ok

    def _held(self, loaded: LoadResult) -> bool:
        """Whether an empty snapshot is held back for the grace period (grace.py)."""
        held = self.grace.holds(len(loaded.manifests))
        self.metrics.empty_source_held.set(1 if held else 0)
        if held:
            self.metrics.in_sync.set(0)
        return held

    def _report(self, problems: Sequence[Problem], translation: Translation) -> None:
        """Log problems not logged by the previous pass (resyncs would repeat them all)."""
        rejected = sum(p.code in (Code.REJECTED, HELD_CODE) for p in problems)
        self.metrics.rejected_ingresses.set(rejected)
        self.metrics.source_errors.set(sum(p.code == Code.MALFORMED_SOURCE for p in problems))
        self.metrics.served_ingresses.set(len(translation.served))
        current = {str(problem) for problem in problems}
        lowest = Severity.WARNING if self.options.quiet else Severity.INFO
        for problem in problems:
            text = str(problem)
            if text in self._reported or problem.severity < lowest:
                continue
            level = _LOG_LEVELS.get(problem.severity, logging.INFO)
            log.log(level, problem.message, extra=fields(event="problem", code=problem.code))
        self._reported = current

    def _tell(
        self, problems: Sequence[Problem], translation: Translation, inventory: Inventory
    ) -> None:
        """Report the pass (`_report`), and the Ingresses rejected, held at their last good
        version or refused: in the metrics, and to `notify` (cluster Events)."""
        self._report(problems, translation)
        self.metrics.refused_ingresses.set(len(self.last_good.refused))
        self.metrics.set_held(self.last_good.held(translation, inventory))
        told = notices(problems, translation, inventory)
        self.metrics.rejected_edits.inc(self.last_good.new_rejections(told))
        if self.notify is not None:
            self.notify(told)

    def _render(self, inventory: Inventory) -> tuple[Translation, DesiredConfig]:
        """Translate (an Ingress whose edit is rejected at its last good version) and render."""
        translation = self.translator.translate(inventory, self.last_good.versions)
        text = self.renderer.render(translation.config)
        return translation, desired_config(text, translation.config)

    def _isolate(
        self, refusal: str, desired: DesiredConfig, inventory: Inventory, translation: Translation
    ) -> tuple[Translation, DesiredConfig, list[Problem]] | None:
        """The validator refused the config: the config without the Ingresses responsible
        (each at its last good version when it has one) and the problems naming them, or None
        (trials.py)."""
        with self.collector.paused():
            return isolate_for_watch(
                refusal, desired, inventory, translation, self.last_good, self._render,
                self.pipeline, self.metrics, self._stopping,
            )  # fmt: skip

    def _record(self, outcome: ApplyOutcome, trigger: str) -> None:
        identity = outcome.identity[:12]
        if outcome.ok:
            if outcome.reloaded:
                self.metrics.reloads.inc()
            if outcome.changed:
                details = fields(identity=identity, result=outcome.reason, trigger=trigger)
                adopted = "nginx already runs the new config"  # a restarted watcher's
                log.info(adopted if outcome.adopted else "applied a new config", extra=details)
            self.metrics.mark_in_sync()
            return
        self.metrics.in_sync.set(0)
        if self._stopping.is_set():
            log.info("apply abandoned: stopping", extra=fields(step=str(outcome.failed_step)))
            return
        if outcome.failed_step is Step.VALIDATE:
            self.metrics.validation_failures.inc()
        elif outcome.failed_step in (Step.RELOAD, Step.CONFIRM):
            self.metrics.reload_errors.inc()
        step = str(outcome.failed_step)
        details = fields(step=step, reason=outcome.reason, identity=identity, trigger=trigger)
        log.error("could not apply the new config; nginx keeps the last good one", extra=details)
