"""Parsing many manifest files at once, in worker processes: the one-shot commands' load.

Parsing YAML is most of loading a large input (libyaml's events, then plain_yaml.py's values),
and each file parses alone. With several files and several CPUs, the one-shot commands
(``render``, ``check``...) parse the files in forked worker processes before the loader reads
them in order; a parsed file comes back pickled, which costs a tenth of parsing it. What a
file gives is the same either way: the worker runs the loader's own function on it, and the
loader still walks the sources and orders what it found (loading.py), taking each file's
result from here instead of parsing it.

Only a process with one thread forks (a thread holding a lock in the parent would hold it
forever in the child), and anything the pool cannot do — fork, pickle, a worker killed — leaves
the files it did not return to be parsed in the loader's own process, as without workers.
Watch mode does not use it: it parses only what changed (`ParseCache`), in a process with
threads.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

MAX_WORKERS = 4
"""More workers gain little: the loader's own process then spends its time unpickling."""

MIN_BYTES = 2 * 1024 * 1024
"""Below this much input, starting workers costs about what they save."""


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """How many worker processes the one-shot commands parse with (1: none)."""
    return min(MAX_WORKERS, usable_cpus())


def parse_in_workers(paths: Sequence[str], parse: Callable[[str], T], workers: int) -> dict[str, T]:
    """``parse(path)`` for each path, by up to `workers` forked processes; the paths the
    pool did not parse (or all, when it is not worth starting, or cannot start) are missing
    from the result. `parse` must be a module-level function, and must not raise."""
    workers = min(workers, len(paths))
    if workers < 2 or not _can_fork() or _size(paths) < MIN_BYTES:
        return {}
    parsed: dict[str, T] = {}
    try:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            for path, result in zip(paths, pool.map(parse, paths), strict=True):
                parsed[path] = result
    except Exception:
        pass  # the loader parses what is missing itself
    return parsed


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _size(paths: Sequence[str]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # the loader reports it
            total += os.stat(path).st_size
    return total
