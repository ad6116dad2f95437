"""The Secrets served objects name, fetched one by one and refreshed: part of the watch cache.

Secrets are never listed or watched (caching.py): `SecretTracker` ``get``s, by name, each
Secret a served Ingress or a served Gateway listener references — at once when a new reference
appears, then again every `WatchTiming.secret_refresh` seconds so that a rotated certificate is
noticed. Secret data is never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ingress2nginx.cluster.connecting import ClusterConnection, describe
from ingress2nginx.cluster.loading import SECRET_FETCHERS, SecretAnswer, fetch_secret
from ingress2nginx.cluster.watching import Key, WatchTiming, resource_version
from ingress2nginx.core.errors import Problem
from ingress2nginx.core.objects import Manifest

log = logging.getLogger("ingress2nginx.cluster.caching")

Changed = Callable[[str], None]
"""Told of a change, with a short reason for logs (never any Secret data)."""


class SecretTracker:
    """The Secrets served Ingresses reference, fetched by name and refreshed periodically."""

    def __init__(
        self,
        connection: ClusterConnection,
        timing: WatchTiming,
        wanted: Callable[[], set[Key] | None],
        lock: threading.RLock,
        changed: Changed,
    ) -> None:
        self.secrets: dict[Key, Manifest] = {}
        self.problems: dict[Key, Problem] = {}
        self.fetched = threading.Event()
        """Set once the Secrets referenced at startup have all been asked for."""
        self.last_error = ""
        self._connection = connection
        self._timing = timing
        self._wanted = wanted
        self._lock = lock
        self._changed = changed
        self._known: set[Key] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def poke(self) -> None:
        """References may have changed (an object of `REFERRERS` did): look again now."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Fetch new references at once and every reference periodically, until `stop`."""
        backoff = self._timing.backoff()
        refresh_at = 0.0
        with ThreadPoolExecutor(SECRET_FETCHERS, thread_name_prefix="secret") as pool:
            while not self._stopping.is_set():
                self._wake.clear()
                wanted = self._wanted()
                if wanted is None:  # the referring kinds are not all listed yet
                    self._wake.wait()
                    continue
                due = time.monotonic() >= refresh_at
                try:
                    self._update(pool, wanted, wanted if due else wanted - self._known)
                except Exception as error:  # keep the Secrets we have; try again later
                    self.last_error = describe(error)
                    log.warning(
                        "secrets: %s; keeping the last ones read, retrying", self.last_error
                    )
                    self._wake.wait(backoff.next())
                    continue
                backoff.reset()
                self.last_error = ""
                self.fetched.set()
                if due:
                    refresh_at = time.monotonic() + self._timing.secret_refresh
                self._wake.wait(max(0.0, refresh_at - time.monotonic()))

    def _update(self, pool: ThreadPoolExecutor, wanted: set[Key], fetch: set[Key]) -> None:
        """Forget Secrets no longer referenced; fetch `fetch`; announce what changed."""
        keys = sorted(fetch)
        answers = list(pool.map(lambda key: fetch_secret(self._connection, *key), keys))
        changed: list[Key] = []
        with self._lock:
            for key in sorted(self._known - wanted):
                secret, problem = self.secrets.pop(key, None), self.problems.pop(key, None)
                if secret is not None or problem is not None:
                    changed.append(key)
            self._known &= wanted
            for key, answer in zip(keys, answers, strict=True):
                if self._store(key, answer):
                    changed.append(key)
                self._known.add(key)
        if changed:
            namespace, name = changed[0]
            more = f" (+{len(changed) - 1} more)" if len(changed) > 1 else ""
            self._changed(f"secret {namespace}/{name} changed{more}")

    def _store(self, key: Key, answer: SecretAnswer) -> bool:
        """Keep one fetched answer; whether it differs from what was known."""
        old = self.secrets.pop(key, None)
        old_problem = self.problems.pop(key, None)
        if isinstance(answer, Manifest):
            self.secrets[key] = answer
            return old is None or resource_version(old) != resource_version(answer)
        if isinstance(answer, Problem):
            self.problems[key] = answer
            if old_problem is None:
                log.warning("%s", answer)
        return old is not None or (old_problem is None) != (answer is None)
