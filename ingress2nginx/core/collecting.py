"""Python's cyclic garbage collector, kept out of the way of the pipeline.

Loading and translating build millions of dicts, lists and records at once. Each full pass
of the cyclic collector walks every one of them, and the collector starts such passes as the
heap grows, so at 10,000 Ingresses it took about a third of the time (docs/performance.md).
Nothing the pipeline builds holds a reference cycle (parsed JSON-like data, frozen records
of tuples): reference counting frees all of it, and pausing the collector loses nothing.

So the collector is paused while the pipeline runs, and what is alive at the end is frozen
(`gc.freeze`: moved where collections never look; reference counting still frees it). The
one-shot commands do this around loading and translating; the process ends soon after.
Watch mode does it around each pass, so that re-enabling the collector does not start by
scanning the pass's million new objects before the config is applied; and after every
`COLLECT_EVERY` passes (once applied) it unfreezes and collects everything, so whatever
reference cycles a long-running process makes (libraries do) are freed and memory stays
bounded.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

COLLECT_EVERY = 10
"""Watch mode: a full collection after every tenth pass."""


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on after (when it was
    on). With `freeze`, everything alive at the end is moved out of the collector's sight
    for good (`gc.freeze`): for objects a short-lived process keeps to its end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


class PassCollector:
    """Watch mode's passes: run each with `paused` and call `after_pass` once it is applied;
    every `every` passes, everything is unfrozen and collected."""

    def __init__(self, every: int = COLLECT_EVERY) -> None:
        self.every = every
        self.passes = 0

    def paused(self) -> contextlib.AbstractContextManager[None]:
        """The collector paused for one pass, what it leaves frozen."""
        return collector_paused(freeze=True)

    def after_pass(self) -> bool:
        """Note one pass done; whether a full collection ran now."""
        self.passes += 1
        if self.passes % self.every:
            return False
        gc.unfreeze()
        gc.collect()
        return True
