"""RequestMirror ``percent`` and ``fraction`` through real nginx: the share of requests copied.

nginx's ``mirror`` copies every request; the internal location the copies go through answers
those outside the share itself (``split_clients`` on the request id), so the mirror backend
sees none at 0%, every one at 100%, and about half at 50%, while every main request is
answered by its own backend alike. Counts are bounded, never timed: copies are awaited up to a
marker request that is always mirrored, sent after the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e import Site, echo_service, render, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend

HOST = "mirror.test"
REQUESTS = 200


def _mirror(**share: Any) -> dict[str, Any]:
    return {"type": "RequestMirror",
            "requestMirror": {"backendRef": backend_ref("copy"), **share}}  # fmt: skip


def _objects() -> list[dict[str, Any]]:
    web = [backend_ref("web")]
    rules = [
        rule([path_match("/none")], web, filters=[_mirror(percent=0)]),
        rule([path_match("/all")], web, filters=[_mirror(percent=100)]),
        rule([path_match("/half")], web, filters=[_mirror(percent=50)]),
        rule([path_match("/quarter")], web,
             filters=[_mirror(fraction={"numerator": 1, "denominator": 4})]),
        rule([path_match("/marker")], web, filters=[_mirror()]),
    ]  # fmt: skip
    return [
        gateway("edge", class_name="nginx", listeners=[listener("http", 80)]),
        http_route("mirrors", parents=[parent("edge")], hostnames=[HOST], rules=rules),
    ]


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("web", "copy") as backends:
        yield backends


@pytest.fixture(scope="module")
def site(nginx_binary: str, echo: dict[str, EchoBackend]) -> Iterator[Site]:
    objects = [*_objects(), *echo_service(echo["web"]), *echo_service(echo["copy"])]
    with serving(objects, binary=nginx_binary) as served:
        yield served


def copies_of(site: Site, echo: dict[str, EchoBackend], prefix: str, count: int) -> int:
    """Send `count` requests under `prefix` (each answered by the main backend), then a
    marker that is always copied; once the marker's copy is in, how many of theirs came."""
    probe = f"{prefix.strip('/')}-{time.monotonic_ns()}"
    for index in range(count):
        response = site.get(f"{prefix}/{index}", HOST, headers=[("X-Probe", probe)])
        assert (response.status, response.json()["backend"]) == (200, "web")
    assert site.get("/marker", HOST, headers=[("X-Probe", probe)]).status == 200
    for _ in range(200):  # copies are sent in the background: wait for the marker's, boundedly
        seen = [r.path for r in echo["copy"].requests if r.headers.get("x-probe") == probe]
        if "/marker" in seen:
            return sum(1 for path in seen if path.startswith(f"{prefix}/"))
        time.sleep(0.05)
    raise AssertionError("the marker request was never mirrored")


def test_percent_0_mirrors_no_request(site: Site, echo: dict[str, EchoBackend]) -> None:
    assert copies_of(site, echo, "/none", 20) == 0


def test_percent_100_mirrors_every_request(site: Site, echo: dict[str, EchoBackend]) -> None:
    assert copies_of(site, echo, "/all", 20) == 20


def test_percent_50_mirrors_about_half(site: Site, echo: dict[str, EchoBackend]) -> None:
    copied = copies_of(site, echo, "/half", REQUESTS)
    assert 60 <= copied <= 140, f"{copied} of {REQUESTS} mirrored"  # 50% ± over 5 sigma


def test_a_fraction_mirrors_its_share(site: Site, echo: dict[str, EchoBackend]) -> None:
    copied = copies_of(site, echo, "/quarter", REQUESTS)
    assert 20 <= copied <= 80, f"{copied} of {REQUESTS} mirrored"  # 25% ± over 5 sigma


@pytest.mark.parametrize(
    ("share", "reason"),
    [
        ({"percent": 101}, 'percent "101" is not a whole number from 0 to 100'),
        ({"percent": "50"}, "is not a whole number from 0 to 100"),
        ({"fraction": {"numerator": 3, "denominator": 2}}, "fraction needs a numerator"),
        ({"fraction": {"numerator": 1, "denominator": 0}}, "fraction needs a numerator"),
        ({"percent": 5, "fraction": {"numerator": 1}}, "percent or fraction, not both"),
    ],
)
def test_an_invalid_share_leaves_the_rule_out_with_a_message(
    share: dict[str, Any], reason: str
) -> None:
    rules = [rule(None, [backend_ref("web")], filters=[_mirror(**share)])]
    route = http_route("bad", parents=[parent("edge")], hostnames=[HOST], rules=rules)
    objects = [gateway("edge", class_name="nginx", listeners=[listener("http", 80)]), route]
    rendered = render(objects)
    assert reason in rendered.messages
    assert "spec.rules[0].filters[0]" in rendered.messages
    assert "HTTPRoute default/bad" not in rendered.config
