"""Health, readiness and Prometheus metrics of the watch sidecar, over plain HTTP.

A sidecar that silently stops following its sources is worse than one that crashes, so the
watcher exposes what it does (``--metrics-port``, ``--metrics-address``):

- ``/healthz``: 200 while the process runs (a liveness probe);
- ``/readyz``: 200 once nginx has confirmed a config from this watcher, 503 before (a
  readiness probe: the pod takes traffic only when nginx routes what the sources say);
- ``/metrics``: the `Metrics` below in Prometheus' text format.

Metrics live in a registry of their own (not prometheus-client's global one), so several
watchers can run in one process, as they do in tests.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from ingress2nginx.watch.dnsresponder import OUTCOMES, DnsResponder

log = logging.getLogger("ingress2nginx.watch")

# No ``*_created`` series: noise beside a sidecar's few counters.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """Every metric the watcher exports, and its readiness."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.renders = Counter(
            "ingress2nginx_renders",
            "Passes that loaded the sources and rendered a config (changed or not).",
            registry=registry,
        )
        self.render_errors = Counter(
            "ingress2nginx_render_errors",
            "Passes that could not load a source or render (the last good config stays).",
            registry=registry,
        )
        self.reloads = Counter(
            "ingress2nginx_reloads",
            "Configs applied: validated, installed, reloaded and confirmed live.",
            registry=registry,
        )
        self.reload_errors = Counter(
            "ingress2nginx_reload_errors",
            "Reloads that failed or that nginx did not confirm (retried with backoff).",
            registry=registry,
        )
        self.validation_failures = Counter(
            "ingress2nginx_validation_failures",
            "Rendered configs refused by the validator (never installed).",
            registry=registry,
        )
        self.last_success = Gauge(
            "ingress2nginx_last_success_timestamp_seconds",
            "When nginx was last known to run the config of the current sources (Unix time).",
            registry=registry,
        )
        self.in_sync = Gauge(
            "ingress2nginx_config_in_sync",
            "1 when nginx runs the config of the current sources, 0 while an apply is failing.",
            registry=registry,
        )
        self.rejected_ingresses = Gauge(
            "ingress2nginx_rejected_ingresses",
            "Ingresses of our class rejected as invalid in the last render.",
            registry=registry,
        )
        self.empty_source_held = Gauge(
            "ingress2nginx_empty_source_held",
            "1 while a source that held objects holds none and nginx keeps its config for the"
            " grace period (--empty-source-grace).",
            registry=registry,
        )
        self.served_ingresses = Gauge(
            "ingress2nginx_served_ingresses",
            "Ingresses rendered in the last render.",
            registry=registry,
        )
        self.source_errors = Gauge(
            "ingress2nginx_source_errors",
            "Documents or files that could not be parsed in the last load.",
            registry=registry,
        )
        self.held = Gauge(
            "ingress2nginx_ingress_held_at_last_good",
            "1 for each Ingress served at its last good version: its current version was"
            " rejected, or nginx refused the config with it.",
            ["namespace", "name"],
            registry=registry,
        )
        self.rejected_edits = Counter(
            "ingress2nginx_rejected_edits",
            "Versions of Ingresses rejected while their last good version serves, or refused by"
            " nginx; each counts once.",
            registry=registry,
        )
        self.refused_ingresses = Gauge(
            "ingress2nginx_refused_ingresses",
            "Ingresses left out, or kept at their last good version, because nginx refused"
            " the config with them.",
            registry=registry,
        )
        self.isolation_runs = Counter(
            "ingress2nginx_isolation_validations",
            "Configs validated to find the Ingresses nginx refused.",
            registry=registry,
        )
        self.render_duration = Histogram(
            "ingress2nginx_render_duration_seconds",
            "Time to load the sources, translate and render one config.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        """Whether a config from this watcher has been confirmed live."""
        return self._ready.is_set()

    def mark_in_sync(self) -> None:
        """nginx runs the config of the current sources: ready from now on."""
        self.in_sync.set(1)
        self.last_success.set(time.time())
        self._ready.set()

    def set_held(self, keys: list[tuple[str, str]]) -> None:
        """The Ingresses served at their last good version now (one series each)."""
        self.held.clear()
        for namespace, name in keys:
            self.held.labels(namespace=namespace, name=name).set(1)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)

    def follow_responder(self, responder: Callable[[], DnsResponder | None]) -> None:
        """Export the DNS responder's counts (dns mode) from now on, read at each scrape."""
        self.registry.register(ResponderMetrics(responder))


class ResponderMetrics(Collector):
    """The DNS responder's counts as ``ingress2nginx_dns_*`` series, read when scraped (the
    responder only adds to plain counters: nothing on its path waits for a scrape). No series
    before the responder starts."""

    def __init__(self, responder: Callable[[], DnsResponder | None]) -> None:
        self._responder = responder

    def collect(self) -> Iterator[Metric]:
        responder = self._responder()
        if responder is None:
            return
        counts = dict(responder.counts)
        queries = CounterMetricFamily(
            "ingress2nginx_dns_queries", "DNS queries the responder received.", labels=["transport"]
        )
        for transport in ("udp", "tcp"):
            queries.add_metric([transport], counts.get(transport, 0))
        yield queries
        for outcome, meaning in OUTCOMES.items():
            if outcome not in ("udp", "tcp"):
                name = f"ingress2nginx_dns_{outcome}"
                yield CounterMetricFamily(name, meaning[:1].upper() + meaning[1:] + ".",
                                          value=counts.get(outcome, 0))  # fmt: skip
        names, targets = responder.held()
        yield GaugeMetricFamily(
            "ingress2nginx_dns_service_ports", "Service ports (SRV names) answered.", value=names
        )
        yield GaugeMetricFamily(
            "ingress2nginx_dns_endpoints", "Endpoint targets in the SRV answers.", value=targets
        )


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` served from a background thread."""

    def __init__(self, address: str, port: int, metrics: Metrics) -> None:
        self._server = _Server(address, port, metrics)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="ingress2nginx-health",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        """Serve in the background; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str, port: int, metrics: Metrics) -> None:
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.metrics = metrics
        super().__init__((address, port), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the address."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._answer(200, b"ok\n")
        elif path == "/readyz":
            if self.server.metrics.ready:
                self._answer(200, b"ready\n")
            else:
                self._answer(503, b"not ready: no config confirmed live yet\n")
        elif path == "/metrics":
            self._answer(200, self.server.metrics.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b"not found: try /healthz, /readyz or /metrics\n")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would drown the log: keep them at debug level."""
        log.debug("health request: " + format, *args)
