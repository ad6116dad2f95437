"""Every object the translation needs, kept current from the API: the cache behind ``watch``.

`ClusterCache` runs one `Informer` per kind and namespace (Ingresses, IngressClasses,
Services, and EndpointSlices unless ``--endpoints service-dns``; the Gateway API's
GatewayClasses, Gateways, HTTPRoutes and ReferenceGrants, each empty while the cluster does
not serve it: cluster/gateway.py) and one `SecretTracker`, and hands consumers one thing:
`ClusterCache.snapshot`, every current object as `Manifest` records in the same `LoadResult`
the file loader gives, so the watch pipeline treats both sources alike. Changes are announced
through the ``on_change`` callback (called from the loops' threads with a short reason such as
``ingress default/web modified``: keep it quick) and through `ClusterCache.wait_for_change`.
Every change counts, endpoint-only ones included; debouncing and deciding whether the rendered
text changed are the apply pipeline's job. `ClusterSource` wraps the cache in the ``Source``
protocol of watching.py.

Namespaces are read only when needed: their informer starts the first time a Gateway selects
route namespaces by label, and keeps running from then on (while it is needed, the snapshot
waits for its first list, so a selector never sees no Namespace at all; one we may not list
is empty, as an absent optional kind is: cluster/watching.py).

Secrets are never listed or watched. The tracker ``get``s, by name, each Secret a served
Ingress or a served Gateway listener references: at once when a new reference appears, then
again every `WatchTiming.secret_refresh` seconds so that a rotated certificate is noticed.
RBAC can therefore be narrowed to ``get`` on named Secrets. Secret data is never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ingress2nginx.cluster.connecting import ClusterConnection, Resource, connect
from ingress2nginx.cluster.gateway import (
    NAMESPACES,
    SECRET_USERS,
    WATCHED,
    listener_secrets,
    selects_namespaces,
)
from ingress2nginx.cluster.loading import (
    ClusterOptions,
    referenced_secrets,
)
from ingress2nginx.cluster.secrets import Changed, SecretTracker
from ingress2nginx.cluster.watching import Informer, Key, WatchTiming
from ingress2nginx.core.errors import Problem, SourceError
from ingress2nginx.core.settings import Settings
from ingress2nginx.sources.loading import LoadResult

log = logging.getLogger(__name__)


REFERRERS = frozenset({"Ingress", "IngressClass"} | SECRET_USERS)
"""The kinds that decide which Secrets are read."""


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """How the cache is doing, for health and readiness endpoints."""

    synced: bool
    """Every kind was listed once and referenced Secrets fetched: the snapshot is complete."""
    watching: bool
    """Every watch is connected right now (false during an outage: the snapshot may lag)."""
    errors: tuple[str, ...]
    """The last error of each part failing now, e.g. ``ingresses: connection refused``."""


class ClusterCache:
    """Every object the translation needs, kept current from the API (see the module docstring).

    ::

        with ClusterCache(options, settings, on_change=debouncer.poke) as cache:
            cache.wait_until_synced(timeout=60)
            loaded = cache.snapshot()      # a LoadResult, as load_sources gives
    """

    def __init__(
        self,
        options: ClusterOptions,
        settings: Settings,
        *,
        timing: WatchTiming | None = None,
        on_change: Changed | None = None,
    ) -> None:
        self.options = options
        self._settings = settings
        self._timing = timing or WatchTiming()
        self._on_change = on_change
        self._connection: ClusterConnection | None = None
        self._lock = threading.RLock()
        self._condition = threading.Condition(self._lock)
        self._generation = 0
        self._informers: list[Informer] = []
        self._namespaces: Informer | None = None
        """Started once a Gateway selects route namespaces by label (`_need_namespaces`)."""
        self._secrets: SecretTracker | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def start(self) -> None:
        """Connect (a bad configuration raises `SourceError`) and start every loop."""
        options = self.options
        required = [((r,), ns) for r in options.resources() for ns in options.scopes(r)]
        optional = [(v, ns) for v in WATCHED for ns in options.scopes(v[0])]
        pool_size = len(required) + len(optional) + 13
        self._connection = connection = connect(options.kubeconfig, pool_size=pool_size)
        self._informers = [self._informer(v, ns, optional=False) for v, ns in required]
        self._informers += [self._informer(v, ns, optional=True) for v, ns in optional]
        self._secrets = SecretTracker(
            connection, self._timing, self._wanted_secrets, self._lock, self._bump
        )
        with self._lock:
            for informer in self._informers:
                self._run(f"informer {informer.name}", informer.run)
            self._run("secret tracker", self._secrets.run)

    def _informer(
        self, versions: tuple[Resource, ...], namespace: str | None, *, optional: bool
    ) -> Informer:
        assert self._connection is not None
        return Informer(
            self._connection, versions[0], namespace, self._timing, self._lock, self._changed,
            versions=versions if optional else (),
        )  # fmt: skip

    def _run(self, name: str, loop: Callable[[], None]) -> None:
        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every loop (bounded by `timeout`) and close the connection."""
        with self._lock:
            self._stopped = True
            informers = [*self._informers, *filter(None, [self._namespaces])]
            threads = list(self._threads)
        for informer in informers:
            informer.stop()
        if self._secrets is not None:
            self._secrets.stop()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._connection is not None:
            self._connection.close()

    def __enter__(self) -> ClusterCache:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def synced(self) -> bool:
        """Whether the snapshot is complete: every kind listed once (Namespaces too while a
        Gateway selects them), Secrets fetched."""
        secrets = self._secrets
        listed = all(informer.listed.is_set() for informer in self._informers)
        if listed and self._need_namespaces():
            namespaces = self._namespaces
            listed = namespaces is not None and namespaces.listed.is_set()
        return bool(self._informers) and listed and secrets is not None and secrets.fetched.is_set()

    def wait_until_synced(self, timeout: float | None = None) -> bool:
        """Block until `synced` (false when `timeout` passes first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while not self.synced:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # `listed` and `fetched` are Events, which do not notify: poll briefly
                self._condition.wait(0.05 if left is None else min(left, 0.05))
        return True

    @property
    def generation(self) -> int:
        """Bumped on every change; read it before `snapshot` to know what a render covers."""
        return self._generation

    def wait_for_change(self, generation: int, timeout: float | None = None) -> int:
        """Block until the generation differs from `generation` (or timeout); the current one."""
        with self._condition:
            self._condition.wait_for(lambda: self._generation != generation, timeout)
            return self._generation

    def snapshot(self) -> LoadResult:
        """Every current object as `Manifest` records, sorted by kind, namespace and name,
        and the Secrets that could not be read as problems."""
        with self._lock:
            manifests = [m for i in self._running() for m in i.objects.values()]
            problems: list[Problem] = []
            if self._secrets is not None:
                manifests.extend(self._secrets.secrets.values())
                problems.extend(self._secrets.problems.values())
        manifests.sort(key=lambda m: (m.kind, m.namespace, m.name))
        problems.sort(key=str)
        return LoadResult(tuple(manifests), tuple(problems))

    def status(self) -> CacheStatus:
        """Synced, watching, and the errors of the parts failing now."""
        informers = self._running()
        errors = [f"{i.name}: {i.last_error}" for i in informers if i.last_error]
        if self._secrets is not None and self._secrets.last_error:
            errors.append(f"secrets: {self._secrets.last_error}")
        watching = bool(informers) and all(i.watching or i.absent for i in informers)
        return CacheStatus(self.synced, watching, tuple(errors))

    def _running(self) -> list[Informer]:
        return [*self._informers, *filter(None, [self._namespaces])]

    def where(self) -> str:
        """How messages name the API server."""
        return self._connection.where() if self._connection else "Kubernetes API"

    def _changed(self, resource: Resource, reason: str) -> None:
        if resource.kind in REFERRERS and self._secrets is not None:
            self._secrets.poke()
        if resource.kind == "Gateway" and self._namespaces is None and self._need_namespaces():
            self._start_namespaces()
        self._bump(reason)

    def _need_namespaces(self) -> bool:
        """Whether a Gateway selects route namespaces by label (then Namespaces are read)."""
        with self._lock:
            gateways = [i.objects for i in self._informers if i.resource.kind == "Gateway"]
            return any(selects_namespaces(objects.values()) for objects in gateways)

    def _start_namespaces(self) -> None:
        with self._lock:
            if self._namespaces is not None or self._stopped:
                return
            log.info("a Gateway selects route namespaces by label: reading Namespaces")
            # optional: without the grant (403), selectors match no namespace, and the rest
            # is still served (one Gateway's selector must not hold every change back)
            self._namespaces = self._informer((NAMESPACES,), None, optional=True)
            self._run(f"informer {self._namespaces.name}", self._namespaces.run)

    def _bump(self, reason: str) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()
        if self._on_change is not None:
            self._on_change(reason)

    def _wanted_secrets(self) -> set[Key] | None:
        referring = [i for i in self._informers if i.resource.kind in REFERRERS]
        if not all(informer.listed.is_set() for informer in referring):
            return None
        with self._lock:
            manifests = [m for i in referring for m in i.objects.values()]
        ingresses = referenced_secrets(manifests, self._settings)
        return ingresses | listener_secrets(manifests, self._settings)


class ClusterSource:
    """The Kubernetes API as a ``Source`` of watching.py: start, snapshot, stop.

    A snapshot is only taken from a complete cache: before the first full list (the API
    unreachable at startup, say) `snapshot` waits up to `sync_timeout` seconds, then raises
    `SourceError`, so the pass fails and nginx keeps its last good config rather than an
    empty one.
    """

    name = "cluster"

    def __init__(
        self,
        options: ClusterOptions,
        settings: Settings,
        *,
        timing: WatchTiming | None = None,
        sync_timeout: float = 30.0,
    ) -> None:
        self.options = options
        self.settings = settings
        self.timing = timing
        self.sync_timeout = sync_timeout
        self.cache: ClusterCache | None = None

    def start(self, changed: Changed) -> None:
        self.cache = ClusterCache(
            self.options, self.settings, timing=self.timing, on_change=changed
        )
        self.cache.start()

    def snapshot(self) -> LoadResult:
        cache = self.cache
        if cache is None:
            raise SourceError("Kubernetes API", "not started")
        if not cache.wait_until_synced(self.sync_timeout):
            errors = "; ".join(cache.status().errors) or "still listing"
            raise SourceError(cache.where(), f"not read completely yet: {errors}")
        return cache.snapshot()

    def stop(self) -> None:
        if self.cache is not None:
            self.cache.stop()
