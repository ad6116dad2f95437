"""dns mode in ``watch``: the DNS responder beside the watcher, fed without re-rendering.

`settle_endpoints` turns ``--endpoints auto`` into dns or static once, at start, from the
version of the nginx that validates (``--nginx-version``, else ``nginx -v``), and logs which.

`ResponderFeed` wraps the watch `Source` (files or the API). It starts the responder
(dnsresponder.py) and keeps its records in step with the source's Services, EndpointSlices
and Endpoints: on every change notification it reads the source itself (a short burst
coalesced) and swaps the records in, on its own thread. It passes a change on to the watch
loop only when something other than an endpoint object changed; what the loop reads has no
endpoint objects at all (a dns-mode config does not depend on them). An EndpointSlice change
therefore never re-renders the config nor reloads nginx: it reaches nginx when nginx next
re-resolves (records.DEFAULT_TTL, docs/watch.md). Ingress, Service, Secret and class changes
reach the loop as before, which re-renders and reloads.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import subprocess
import threading
from collections.abc import Callable, Sequence

from ingress2nginx.apply.applying import find_nginx
from ingress2nginx.core.errors import Ingress2NginxError
from ingress2nginx.core.logs import fields
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import dns_upstreams
from ingress2nginx.normalize.records import (
    RecordSet,
    parse_listen,
    relay_addresses,
    service_records,
)
from ingress2nginx.sources.loading import LoadResult
from ingress2nginx.watch.dnsresponder import DnsResponder
from ingress2nginx.watch.watching import Source, WatchStartError

log = logging.getLogger("ingress2nginx.watch")

ENDPOINT_KINDS = frozenset({"EndpointSlice", "Endpoints"})
BURST_SECONDS = 0.05
"""Notifications this close together are read as one change."""


def settle_endpoints(args: argparse.Namespace, settings: Settings) -> Settings:
    """Settings for the nginx that validates (``--nginx-version``, else what ``nginx -v``
    says), with ``--endpoints auto`` decided: dns from nginx 1.27.3 on. Logs the choice."""
    detected = None
    if args.nginx_version is None and not getattr(args, "validate_command", None):
        detected = nginx_version_of(find_nginx())
    if detected is not None:
        settings = dataclasses.replace(settings, nginx_version=detected)
    if args.endpoints == "auto" and settings.resolves_upstreams:
        settings = dataclasses.replace(settings, endpoints="dns")
    version = ".".join(map(str, settings.nginx_version))
    chosen = "--endpoints" if args.endpoints != "auto" else "auto"
    details = fields(endpoints=settings.endpoints, chosen_by=chosen, nginx_version=version)
    log.info("endpoints: %s (%s, nginx %s)", settings.endpoints, chosen, version, extra=details)
    if settings.endpoints == "dns" and not settings.resolves_upstreams:
        log.error("--endpoints dns needs nginx 1.27.3 or later", extra=details)
    return settings


def nginx_version_of(binary: str | None) -> tuple[int, int, int] | None:
    """What ``nginx -v`` says, or None without nginx (or with an answer not understood)."""
    if binary is None:
        return None
    try:
        result = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr + result.stdout)
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def fed_by_responder(source: Source, settings: Settings) -> Source:
    """`source` as the watch loop should read it: wrapped in a `ResponderFeed` in dns mode."""
    if settings.endpoints != "dns":
        return source
    return ResponderFeed(source, settings)


class ResponderFeed:
    """A `Source` that answers the responder's records itself and the loop the rest."""

    def __init__(self, inner: Source, settings: Settings) -> None:
        self.inner = inner
        self.name = inner.name
        self.settings = settings
        self.responder: DnsResponder | None = None
        self._lock = threading.Lock()
        """Serialises reads of `inner` (the loop's and the feeder's)."""
        self._poked = threading.Event()
        self._stopping = threading.Event()
        self._reasons: list[str] = []
        self._changed: Callable[[str], None] = lambda _: None
        self._config: tuple[Manifest, ...] = ()
        """The objects the loop last read (endpoint objects left out)."""
        self._memo: dict[tuple[str, str], tuple[tuple[int, ...], RecordSet]] = {}
        self._thread = threading.Thread(target=self._feed, name="dns-feed", daemon=True)

    def start(self, changed: Callable[[str], None]) -> None:
        self.responder = _bound_responder(self.settings)
        self.responder.start()
        self._changed = changed
        self._thread.start()
        self.inner.start(self._poke)
        log.info("answering DNS", extra=fields(listen=self.settings.dns_listen))

    def snapshot(self) -> LoadResult:
        with self._lock:
            loaded = self.inner.snapshot()
            self._answer_from(loaded.manifests)
            config = _config_objects(loaded.manifests)
            self._config = config
        return LoadResult(config, loaded.problems)

    def stop(self) -> None:
        self._stopping.set()
        self._poked.set()
        self.inner.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.responder is not None:
            self.responder.stop()

    def _poke(self, reason: str) -> None:
        self._reasons.append(reason)
        self._poked.set()

    def _feed(self) -> None:
        while not self._stopping.is_set():
            self._poked.wait()
            if self._stopping.wait(BURST_SECONDS):
                return
            self._poked.clear()
            reasons, self._reasons = self._reasons, []
            if self._refresh():
                self._changed("; ".join(reasons) or "change")

    def _refresh(self) -> bool:
        """Read the source and swap the records in; whether the loop has something to do."""
        try:
            with self._lock:
                manifests = self.inner.snapshot().manifests
                self._answer_from(manifests)
                return not _same_objects(_config_objects(manifests), self._config)
        except Ingress2NginxError:
            return True  # the loop's own read reports it, and retries
        except Exception:
            log.exception("could not update the DNS records (a bug); the loop reads again")
            return True

    def _answer_from(self, manifests: Sequence[Manifest]) -> None:
        """Records for every Service port, each Service worked out again only when it or
        one of its endpoint objects is a new object."""
        inventory = Inventory.build(
            m for m in manifests if m.kind == "Service" or m.kind in ENDPOINT_KINDS
        )
        records: RecordSet = {}
        memo: dict[tuple[str, str], tuple[tuple[int, ...], RecordSet]] = {}
        stand_in = dns_upstreams.stand_in(self.settings)
        for key, service in inventory.services.items():
            slices = inventory.endpoint_slices.get(key, [])
            legacy = inventory.endpoints.get(key)
            identity = (id(service), id(legacy), *map(id, slices))
            found = self._memo.get(key)
            if found is None or found[0] != identity:
                domain = self.settings.cluster_domain
                found = identity, service_records(service, slices, legacy, domain, stand_in)
            memo[key] = found
            records.update(found[1])
        self._memo = memo
        assert self.responder is not None
        self.responder.replace(records)


def _bound_responder(settings: Settings) -> DnsResponder:
    listen = parse_listen(settings.dns_listen)
    relay = [target for target in relay_addresses(settings.resolver) if target != listen]
    try:
        return DnsResponder(settings.cluster_domain, listen, relay_to=relay)
    except OSError as error:
        raise WatchStartError(f"cannot answer DNS on {settings.dns_listen}: {error}") from error


def _config_objects(manifests: Sequence[Manifest]) -> tuple[Manifest, ...]:
    return tuple(m for m in manifests if m.kind not in ENDPOINT_KINDS)


def _same_objects(now: Sequence[Manifest], before: Sequence[Manifest]) -> bool:
    """The same objects (the very same, or equal in content) in the same order."""
    if len(now) != len(before):
        return False
    return all(
        a is b or (a.kind, a.namespace, a.name, a.body) == (b.kind, b.namespace, b.name, b.body)
        for a, b in zip(now, before, strict=True)
    )
