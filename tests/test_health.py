"""Health, readiness and metrics over HTTP (health.py), structured logs (logs.py), and the
``watch`` command line's own checks."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from golden_cases import run_cli
from harness import LOOPBACK, request

from ingress2nginx.core import logs
from ingress2nginx.watch.health import HealthServer, Metrics

EXPECTED_METRICS = (
    "ingress2nginx_renders_total",
    "ingress2nginx_render_errors_total",
    "ingress2nginx_reloads_total",
    "ingress2nginx_reload_errors_total",
    "ingress2nginx_validation_failures_total",
    "ingress2nginx_last_success_timestamp_seconds",
    "ingress2nginx_config_in_sync",
    "ingress2nginx_rejected_ingresses",
    "ingress2nginx_served_ingresses",
    "ingress2nginx_source_errors",
    "ingress2nginx_render_duration_seconds_bucket",
)


@pytest.fixture(autouse=True)
def logger_restored() -> Iterator[None]:
    """watch configures the ``ingress2nginx`` logger; leave it as it was for other tests."""
    logger = logging.getLogger(logs.LOGGER)
    state = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = state


@pytest.fixture
def served() -> Iterator[tuple[Metrics, int]]:
    metrics = Metrics()
    server = HealthServer(LOOPBACK, 0, metrics).start()
    yield metrics, server.port
    server.close()


def test_healthz_answers_while_readyz_waits_for_the_first_confirmed_config(
    served: tuple[Metrics, int],
) -> None:
    metrics, port = served
    assert request(port, "/healthz").status == 200
    assert request(port, "/readyz").status == 503
    metrics.mark_in_sync()
    assert request(port, "/readyz").status == 200
    metrics.in_sync.set(0)  # a later failure: nginx still runs a good config, still ready
    assert request(port, "/readyz").status == 200
    assert request(port, "/other").status == 404


def test_metrics_are_served_in_the_prometheus_text_format(served: tuple[Metrics, int]) -> None:
    metrics, port = served
    metrics.reloads.inc()
    metrics.render_duration.observe(0.02)
    response = request(port, "/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    for name in EXPECTED_METRICS:
        assert f"\n{name}" in response.text, name
    assert "\ningress2nginx_reloads_total 1.0\n" in response.text
    assert "_created" not in response.text


def test_two_watchers_in_one_process_keep_separate_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.reloads.inc()
    assert b"ingress2nginx_reloads_total 0.0" in second.exposition()


def _logged(log_format: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    logs.configure(log_format, stream)
    logging.getLogger("ingress2nginx.watch").error(*args, **extra)  # type: ignore[arg-type]
    return stream.getvalue()


def test_json_logs_are_one_object_a_line_with_the_event_fields() -> None:
    line = _logged("json", "could not apply", extra=logs.fields(step="validate", reason="a\nb"))
    assert line.count("\n") == 1
    event = json.loads(line)
    assert event["level"] == "error" and event["message"] == "could not apply"
    assert event["step"] == "validate" and event["reason"] == "a\nb"
    assert event["time"].endswith("Z")


def test_text_logs_quote_values_that_need_it() -> None:
    line = _logged("text", "applied", extra=logs.fields(identity="abc", result="nginx started"))
    assert line.rstrip("\n").endswith(' error applied identity=abc result="nginx started"')


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ([], "needs a SOURCE"),
        (["-"], "cannot watch stdin"),
        (["x", "--max-delay", "0.1", "--debounce", "1"], "--max-delay must be at least"),
        (["x", "--status-port", "8080", "--http-port", "8080"], "--status-port 8080 is also"),
        (["x", "--metrics-port", "443"], "--metrics-port 443 is also --https-port"),
    ],
)
def test_watch_refuses_options_that_cannot_work(
    tmp_path: Path, arguments: list[str], complaint: str
) -> None:
    result = run_cli(["watch", *arguments, "-o", str(tmp_path / "nginx.conf")])
    assert result.code == 2 and complaint in result.messages


def test_watch_needs_an_existing_folder_for_its_output(tmp_path: Path) -> None:
    result = run_cli(["watch", str(tmp_path), "-o", str(tmp_path / "missing" / "nginx.conf")])
    assert result.code == 2 and "does not exist" in result.messages


def test_watch_exits_5_when_its_metrics_port_is_taken(tmp_path: Path) -> None:
    with socket.create_server((LOOPBACK, 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(
            ["watch", str(tmp_path), "-o", str(tmp_path / "nginx.conf"),
             "--metrics-address", LOOPBACK, "--metrics-port", str(port)]
        )  # fmt: skip
    assert result.code == 5 and "cannot serve metrics" in result.messages
