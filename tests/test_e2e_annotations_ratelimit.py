"""Rate limits proven through real nginx with echo backends: real bursts of requests from
127.0.0.1, counted. Limits are per minute (or the burst is tiny) so that nothing refills while
a test runs, and every test uses its own Ingress, so zones never carry over between tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import Obj, Site, echo_service, ingress, path, rule, serving, started_backends, to
from harness import LOOPBACK

PREFIX = "nginx.ingress.kubernetes.io/"
BODY = "x" * 12288
"""Echoed back by the backend: a response of about 12 KB."""


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


def limited(name: str, *routes: str, **values: str) -> Obj:
    """An Ingress `name` on host `<name>.test` serving `routes` with annotations `values`."""
    paths = [path(route, to("api")) for route in routes or ("/",)]
    return ingress(name, rules=[rule(f"{name}.test", *paths)], annotations=annotated(**values))


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    objects = [
        limited("per-minute", limit_rpm="1"),
        limited("neighbour", limit_rpm="1"),
        limited("shared", "/a", "/b", limit_rpm="1", limit_burst_multiplier="1"),
        limited("per-second", limit_rps="1", limit_burst_multiplier="1"),
        limited("no-burst", limit_rpm="1", limit_burst_multiplier="0"),
        limited("exempt", limit_rpm="1", limit_allowlist="10.0.0.0/8, 127.0.0.0/8"),
        limited("not-exempt", limit_rpm="1", limit_burst_multiplier="1",
                limit_whitelist="127.0.0.0/8", limit_allowlist="10.0.0.0/8"),
        limited("connections", limit_connections="1"),
        limited("slow", limit_rate="4", proxy_buffering="on"),
        limited("slow-later", limit_rate="4", limit_rate_after="16", proxy_buffering="on"),
    ]  # fmt: skip
    with started_backends("api") as echo:
        objects.extend(echo_service(echo["api"]))
        with serving(objects, binary=nginx_binary) as served:
            yield served


def burst(site: Site, host: str, count: int, route: str = "/") -> list[int]:
    return [site.get(route, host=host).status for _ in range(count)]


def test_limit_rpm_lets_the_rate_and_its_burst_through_then_answers_503(site: Site) -> None:
    # 1 per minute, burst 1 x 5 (the default multiplier): 6 pass, the rest are refused
    assert burst(site, "per-minute.test", 10) == [200] * 6 + [503] * 4


def test_a_burst_multiplier_of_zero_allows_the_rate_and_no_burst(site: Site) -> None:
    assert burst(site, "no-burst.test", 3) == [200, 503, 503]


def test_each_ingress_has_its_own_zone(site: Site) -> None:
    burst(site, "per-minute.test", 8)
    assert site.get("/", host="neighbour.test").status == 200


def test_all_paths_of_an_ingress_share_its_zone(site: Site) -> None:
    assert burst(site, "shared.test", 2, "/a") == [200, 200]
    assert site.get("/b", host="shared.test").status == 503


def test_limit_rps_refuses_a_burst_beyond_rate_and_burst(site: Site) -> None:
    statuses = burst(site, "per-second.test", 20)
    assert statuses[:2] == [200, 200]
    assert statuses.count(503) >= 10


def test_limit_allowlist_exempts_its_clients(site: Site) -> None:
    assert burst(site, "exempt.test", 10) == [200] * 10


def test_limit_allowlist_wins_over_limit_whitelist(site: Site) -> None:
    assert burst(site, "not-exempt.test", 3) == [200, 200, 503]


def test_limit_connections_refuses_a_second_concurrent_request_with_503(site: Site) -> None:
    head = b"POST / HTTP/1.1\r\nHost: connections.test\r\nContent-Length: 5\r\n\r\n"
    with socket.create_connection((LOOPBACK, site.port), timeout=5) as first:
        first.sendall(head)  # the body is withheld: nginx holds the request open
        time.sleep(0.3)
        assert site.get("/", host="connections.test").status == 503
        first.sendall(b"hello")
        assert first.recv(64).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 5
    while site.get("/", host="connections.test").status != 200:
        assert time.monotonic() < deadline, "the connection was never released"
        time.sleep(0.05)


def timed(site: Site, host: str) -> float:
    start = time.monotonic()
    response = site.get("/", host=host, method="POST", body=BODY)
    assert response.status == 200 and len(response.body) > len(BODY)
    return time.monotonic() - start


def test_limit_rate_slows_the_response_down(site: Site) -> None:
    # 4 KB per second: about 12 KB take two seconds. As ingress-nginx says, limit-rate needs
    # proxy-buffering on: nginx does not limit responses it streams unbuffered.
    assert timed(site, "slow.test") >= 1.5


def test_limit_rate_after_sends_the_first_kilobytes_at_full_speed(site: Site) -> None:
    assert timed(site, "slow-later.test") < 1.0


def test_limit_req_status_code_from_the_global_config_replaces_503(
    nginx_binary: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('limit-req-status-code: "429"\n')
    with started_backends("api") as echo, serving(
        [limited("polite", limit_rpm="1", limit_burst_multiplier="1"), *echo_service(echo["api"])],
        "--config", str(config), binary=nginx_binary,
    ) as served:  # fmt: skip
        assert burst(served, "polite.test", 3) == [200, 200, 429]
