"""Work shared with forked copies of this process: the one-shot commands on several CPUs.

A one-shot ``render`` of a large cluster ends with work that splits into independent pieces
(laying out thousands of server blocks, writing thousands of certificate files) while a
second CPU sits idle. A forked child starts with everything the parent has built, so it needs
no input sent to it; it sends back only its results, pickled through a pipe.

Every use falls back to doing the work here: a child that fails in any way (an exception, a
kill, a result that does not pickle) has its share done again by the parent, so an error is
raised here exactly as without children, and results never depend on them. Only a process with
one thread forks (a lock held by another thread would stay held in the child forever), and a
child never collects garbage (a collection would copy every page of the parent's heap).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    """Whether this process may fork a child to share work with."""
    return hasattr(os, "fork") and threading.active_count() == 1


def forked_map(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[function(item) for item in items]``, the items split into `workers` runs, all but the
    first done by forked children meanwhile (when forking is possible and `workers` > 1)."""
    workers = min(workers, len(items))
    if workers < 2 or not can_fork():
        return [function(item) for item in items]
    size = -(-len(items) // workers)
    runs = [items[start : start + size] for start in range(0, len(items), size)]
    children: list[tuple[int, int]] = []
    try:
        children = [_start(functools.partial(_mapped, function, run)) for run in runs[1:]]
        results = _mapped(function, runs[0])
        for run in runs[1:]:
            pid, reading = children.pop(0)
            shared: list[R] | None = _result(pid, reading)
            results.extend(shared if shared is not None else _mapped(function, run))
        return results
    finally:
        for pid, reading in children:  # the parent failed: its error wins, children go
            _stop(pid, reading)


def started(function: Callable[[], None]) -> Callable[[], None]:
    """`function` run by a forked child from now on; the function returned waits for the child,
    and runs `function` here when the child did not succeed (or could not be forked)."""
    if not can_fork():
        return function
    pid, reading = _start(functools.partial(_done, function))

    def finish() -> None:
        if _result(pid, reading) is not True:
            function()

    return finish


def _mapped(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    return [function(item) for item in items]


def _done(function: Callable[[], None]) -> bool:
    function()
    return True


def _start(compute: Callable[[], object]) -> tuple[int, int]:
    """Fork a child computing ``compute()``; (its pid, the pipe its pickled result comes
    from)."""
    reading, writing = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which only exits
        status = 1
        try:
            gc.disable()
            os.close(reading)
            data = pickle.dumps(compute(), pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writing, "wb") as pipe:
                pipe.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(writing)
    return pid, reading


def _result(pid: int, reading: int) -> Any:
    """A child's result (None when it did not succeed), once it has exited."""
    with os.fdopen(reading, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # a truncated result: the parent does that share itself
        return None


def _stop(pid: int, reading: int) -> None:
    with contextlib.suppress(OSError):
        os.close(reading)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
