"""Exponential delays between retries, the one backoff of the program.

The watch loop retries a failing pass (watch/watching.py) and the API client retries a failed
list or watch (cluster/watching.py, cluster/caching.py): each waits a first delay, doubled
after every further failure up to a limit, and back to the first after a success. The API
client spreads its delays by a jitter (a fifth either way, as client-go does), so that many
sidecars do not retry in step after an API server outage.
"""

from __future__ import annotations

import random

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


class Backoff:
    """Exponential delays: `first`, doubled after each failure, capped at `limit`."""

    def __init__(
        self,
        first: float = RETRY_FIRST_SECONDS,
        limit: float = RETRY_MAX_SECONDS,
        jitter: float = 0.0,
    ) -> None:
        self.first, self.limit, self.jitter = first, limit, jitter
        self._next = first

    def next(self) -> float:
        """The delay before the next retry; each call doubles the following one."""
        delay, self._next = self._next, min(self.limit, self._next * 2)
        if self.jitter:
            return delay * random.uniform(1 - self.jitter, 1 + self.jitter)
        return delay

    def reset(self) -> None:
        """Back to the first delay (after a success)."""
        self._next = self.first
