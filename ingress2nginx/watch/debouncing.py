"""When to apply: change notifications coalesced into bursts.

The watch loop (watching.py) waits on a `Debouncer` for the next burst of changes to settle
(and on core/backoff.py's `Backoff` between retries of a failing pass).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Wake:
    """Why `Debouncer.wait` returned: changes (a few reasons and their count), or stop."""

    reasons: tuple[str, ...] = ()
    count: int = 0
    stopped: bool = False


class Debouncer:
    """Coalesces change notifications, like docker-gen's ``-wait min:max``: a burst fires once,
    `quiet` seconds after its last change, or `max_delay` after its first, whichever is first.

    `poke` and `stop` may be called from any thread (and from a signal handler: the lock is
    reentrant); `wait` from one thread.
    """

    SAMPLE = 3

    def __init__(self, quiet: float, max_delay: float) -> None:
        self.quiet = quiet
        self.max_delay = max(max_delay, quiet)
        self._condition = threading.Condition(threading.RLock())
        self._first: float | None = None
        self._last = 0.0
        self._reasons: list[str] = []
        self._count = 0
        self._stopped = False

    def poke(self, reason: str) -> None:
        """Note a change."""
        with self._condition:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._count += 1
            if len(self._reasons) < self.SAMPLE and reason not in self._reasons:
                self._reasons.append(reason)
            self._condition.notify_all()

    def stop(self) -> None:
        """Make `wait` return `Wake(stopped=True)` now and from now on."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def wait(self, deadline: float | None = None) -> Wake:
        """Block until a burst is complete, `deadline` (monotonic) passes, or stop.

        A burst under way is waited for even past the deadline: it is due soon anyway.
        """
        with self._condition:
            while not self._stopped:
                now = time.monotonic()
                if self._first is not None:
                    due = min(self._last + self.quiet, self._first + self.max_delay)
                    if now >= due:
                        return self._take()
                    self._condition.wait(due - now)
                elif deadline is not None and now >= deadline:
                    return Wake()
                else:
                    self._condition.wait(None if deadline is None else deadline - now)
            return Wake(stopped=True)

    def _take(self) -> Wake:
        wake = Wake(tuple(self._reasons), self._count)
        self._first, self._reasons, self._count = None, [], 0
        return wake
