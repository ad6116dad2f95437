"""A source that suddenly holds nothing is not believed at once: every host would go.

A manifests folder that is deleted and recreated empty before its files are copied back, a
volume remounted, an API list answered while a namespace is being recreated: for a moment
the source says "no objects at all", and applying that drops every host nginx serves. When a
source that held objects answers none, the watch loop keeps nginx's config for a short grace
period (``--empty-source-grace``, default `DEFAULT_SECONDS`): if objects come back meanwhile,
nothing was lost; if the source is still empty after the grace, the emptiness is applied
like any change (every host is dropped), since deleting everything must remain possible.

While it holds, ``ingress2nginx_empty_source_held`` is 1 and ``ingress2nginx_config_in_sync``
0 (nginx serves more than the sources say); both moments are logged as warnings. The first
pass of a watcher has nothing to compare with: an empty source at start is applied at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ingress2nginx.core.logs import fields

log = logging.getLogger("ingress2nginx.watch")

DEFAULT_SECONDS = 10.0


class EmptySourceGrace:
    """Decides, pass by pass, whether an empty snapshot is held back (see the module)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._previous = 0
        self.until: float | None = None
        """While holding: when (monotonic) the grace ends and the emptiness is applied."""

    def holds(self, count: int) -> bool:
        """Whether a snapshot of `count` objects must not be applied yet."""
        if count or not self._previous or self.seconds <= 0:
            if self.until is not None:
                log.warning(
                    "the source holds objects again; the empty snapshot was never applied",
                    extra=fields(objects=count),
                )
            self.until, self._previous = None, count
            return False
        now = self._clock()
        if self.until is None:
            self.until = now + self.seconds
            log.warning(
                "the source suddenly holds no objects: nginx keeps its config during the grace"
                " period, then every host is dropped unless objects come back",
                extra=fields(objects_before=self._previous, grace_seconds=f"{self.seconds:g}"),
            )
            return True
        if now < self.until:
            return True
        log.warning(
            "the source still holds no objects after the grace period: dropping every host",
            extra=fields(objects_before=self._previous, grace_seconds=f"{self.seconds:g}"),
        )
        self.until, self._previous = None, 0
        return False
