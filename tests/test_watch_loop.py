"""The watch loop (watching.py) without nginx: debounce, backoff, and any `Source` driving it.

`MemorySource` is the smallest source there is (objects in memory, a ``changed`` callback), as
an API source will be: the loop must debounce its notifications, apply, keep the last good
config when the source cannot be read, retry with backoff, resync, and stop on request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e import Obj, ingress, manifest_text, path, rule, to

from ingress2nginx.apply.reloading import ApplyPipeline
from ingress2nginx.apply.validators import StructureValidator
from ingress2nginx.core.errors import SourceError
from ingress2nginx.core.settings import Settings
from ingress2nginx.sources.loading import LoadResult, load_text
from ingress2nginx.watch.grace import EmptySourceGrace
from ingress2nginx.watch.health import Metrics
from ingress2nginx.watch.watching import Backoff, Debouncer, Watcher, WatchOptions

DEADLINE = 5.0


def test_a_burst_of_pokes_wakes_once_after_the_quiet_period() -> None:
    debouncer = Debouncer(quiet=0.15, max_delay=5)
    started = time.monotonic()
    for number in range(5):
        debouncer.poke(f"change {number}")
        time.sleep(0.02)
    wake = debouncer.wait(time.monotonic() + DEADLINE)
    elapsed = time.monotonic() - started
    assert wake.count == 5 and wake.reasons == ("change 0", "change 1", "change 2")
    assert 0.08 + 0.15 <= elapsed < 1.0
    assert debouncer.wait(time.monotonic() + 0.05).count == 0  # nothing pending any more


def test_a_burst_that_never_pauses_still_wakes_after_the_maximum_delay() -> None:
    debouncer = Debouncer(quiet=0.2, max_delay=0.3)
    stop = threading.Event()

    def keep_changing() -> None:
        while not stop.is_set():
            debouncer.poke("busy")
            time.sleep(0.02)

    thread = threading.Thread(target=keep_changing, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        wake = debouncer.wait(time.monotonic() + DEADLINE)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
    assert wake.count > 5
    assert 0.25 <= elapsed < 0.9


def test_the_deadline_wakes_an_idle_debouncer_and_stop_wakes_it_for_good() -> None:
    debouncer = Debouncer(quiet=0.1, max_delay=1)
    wake = debouncer.wait(time.monotonic() + 0.05)
    assert wake.count == 0 and not wake.stopped
    threading.Timer(0.05, debouncer.stop).start()
    assert debouncer.wait(None).stopped
    debouncer.poke("late")
    assert debouncer.wait(None).stopped


def test_backoff_doubles_up_to_its_limit_and_resets() -> None:
    backoff = Backoff(first=0.5, limit=3)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3, 3]
    backoff.reset()
    assert backoff.next() == 0.5


class MemorySource:
    """Objects in memory; `set` replaces them and notifies, `broken` makes snapshots fail."""

    name = "memory"

    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.broken = False
        self.snapshots = 0
        self.stopped = False
        self._changed: Callable[[str], None] | None = None

    def start(self, changed: Callable[[str], None]) -> None:
        self._changed = changed

    def snapshot(self) -> LoadResult:
        self.snapshots += 1
        if self.broken:
            raise SourceError("memory", "the API is unreachable")
        return load_text(manifest_text(self.objects), "memory")

    def stop(self) -> None:
        self.stopped = True

    def set(self, objects: list[Obj]) -> None:
        self.objects = objects
        assert self._changed is not None
        self._changed("set")


class CountingReloader:
    def __init__(self) -> None:
        self.calls = 0

    def reload(self) -> bool:
        self.calls += 1
        return True


def site(host: str) -> Obj:
    return ingress(host.split(".")[0], rules=[rule(host, path("/", to("web")))])


class Running:
    """A `Watcher` over a `MemorySource`, run in a thread."""

    def __init__(self, tmp_path: Path, source: MemorySource, **options: float) -> None:
        self.source = source
        self.reloader = CountingReloader()
        self.metrics = Metrics()
        output = tmp_path / "nginx.conf"
        pipeline = ApplyPipeline(
            output,
            tmp_path / "certs",
            validator=StructureValidator(),
            reloader=self.reloader,
            confirmer=None,
        )
        settings = Settings(resolver=("127.0.0.1",), cert_dir=tmp_path / "certs")
        watch = WatchOptions(output=output, **{"debounce": 0.05, "max_delay": 0.5, **options})
        self.watcher = Watcher(source, settings, pipeline, watch, self.metrics)
        self.output = output
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def wait_for(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    def config(self) -> str:
        return self.output.read_text() if self.output.exists() else ""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(source: MemorySource, **options: float) -> Running:
        run = Running(tmp_path, source, **options)
        started.append(run)
        run.thread.start()
        return run

    yield start
    for run in started:
        run.watcher.stop()
        run.thread.join(timeout=DEADLINE)
        assert not run.thread.is_alive()


def test_any_source_drives_the_loop_through_changed_and_snapshot(
    running: Callable[..., Running],
) -> None:
    source = MemorySource([site("a.test")])
    run = running(source)
    run.wait_for(lambda: run.metrics.ready, "the first config")
    assert "server_name a.test" in run.config() and run.reloader.calls == 1
    source.set([site("a.test"), site("b.test")])
    run.wait_for(lambda: run.reloader.calls == 2, "the changed config's reload")
    assert "server_name b.test" in run.config()
    run.watcher.stop()
    run.thread.join(timeout=DEADLINE)
    assert source.stopped


def test_an_unreadable_source_keeps_the_last_good_config_and_is_retried(
    running: Callable[..., Running],
) -> None:
    source = MemorySource([site("a.test")])
    run = running(source)
    run.wait_for(lambda: run.metrics.ready, "the first config")
    good = run.config()
    source.broken = True
    source.set([site("b.test")])
    run.wait_for(lambda: run.metrics.render_errors._value.get() >= 2, "a failure and a retry")
    assert run.config() == good and run.metrics.in_sync._value.get() == 0
    source.broken = False  # no new event: the retry alone must bring the change
    run.wait_for(lambda: run.metrics.in_sync._value.get() == 1, "the retried pass")
    assert "server_name b.test" in run.config()


def test_the_resync_reads_the_source_without_any_event(running: Callable[..., Running]) -> None:
    source = MemorySource([site("a.test")])
    run = running(source, resync_interval=0.1)
    run.wait_for(lambda: source.snapshots >= 4, "several resyncs")
    source.objects = [site("quiet.test")]  # changed without telling
    run.wait_for(lambda: run.reloader.calls == 2, "the resync's reload")
    assert "server_name quiet.test" in run.config()
    snapshots = source.snapshots
    run.wait_for(lambda: source.snapshots >= snapshots + 3, "more resyncs")
    assert run.reloader.calls == 2  # resyncs that found nothing new reloaded nothing


def test_an_empty_source_is_held_for_the_grace_period_with_no_event_needed_to_end_it(
    running: Callable[..., Running],
) -> None:
    source = MemorySource([site("a.test"), site("b.test")])
    run = running(source, empty_source_grace=0.5, resync_interval=0)
    run.wait_for(lambda: run.reloader.calls == 1, "the first config")
    source.set([])
    run.wait_for(lambda: run.metrics.empty_source_held._value.get() == 1, "the hold")
    assert "server_name a.test" in run.config() and run.reloader.calls == 1
    assert run.metrics.in_sync._value.get() == 0
    run.wait_for(lambda: run.reloader.calls == 2, "the emptiness applied after the grace")
    assert "server_name a.test" not in run.config()
    assert run.metrics.empty_source_held._value.get() == 0
    assert run.metrics.render_errors._value.get() == 0  # a hold is no error


def test_the_grace_period_on_a_clock() -> None:
    now = [100.0]
    grace = EmptySourceGrace(10, clock=lambda: now[0])
    assert not grace.holds(0)  # the first pass: nothing to compare with
    assert not grace.holds(3)
    assert grace.holds(0) and grace.until == 110.0
    now[0] = 109.9
    assert grace.holds(0)
    assert not grace.holds(2) and grace.until is None  # back before the end: never applied
    assert grace.holds(0) and grace.until == 119.9
    now[0] = 120.0
    assert not grace.holds(0) and grace.until is None  # applied after the grace
    assert not grace.holds(0)  # and empty is now the normal state
    off = EmptySourceGrace(0)
    assert not off.holds(5) and not off.holds(0)  # 0 turns it off
