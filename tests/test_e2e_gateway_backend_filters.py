"""Filters with weighted backendRefs, and a backendRef's own filters, through real nginx.

A rule's filters apply to every request it matches, whichever backendRef takes it; a
backendRef's own filters (implementation-specific; here RequestHeaderModifier and
ResponseHeaderModifier) apply to the requests sent to it only, after the rule's. A filter nginx
cannot honour on a backendRef is not skipped: that backendRef's requests get 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent, path_match
from gateway_objects import route_rule as rule
from harness import EchoBackend

HOST = "refs.test"


def _set(name: str, value: str) -> dict[str, Any]:
    return {"type": "RequestHeaderModifier",
            "requestHeaderModifier": {"set": [{"name": name, "value": value}]}}  # fmt: skip


def _answer(name: str, value: str) -> dict[str, Any]:
    return {"type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"add": [{"name": name, "value": value}]}}  # fmt: skip


def _objects() -> list[dict[str, Any]]:
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": backend_ref("copy")}}
    split = [
        backend_ref("web", filters=[_set("X-Ref", "a")]),
        backend_ref("other", filters=[_set("X-Ref", "b"), _answer("X-From", "other")]),
    ]
    rules = [
        rule([path_match("/split")], split, filters=[_set("X-Rule", "r")]),
        rule([path_match("/mirrored")], [backend_ref("web"), backend_ref("other")],
             filters=[mirror]),
        rule([path_match("/solo")], [backend_ref("web", filters=[_set("X-Ref", "solo")])],
             filters=[_set("X-Rule", "s")]),
        rule([path_match("/refused")], [backend_ref("web", filters=[
            {"type": "URLRewrite", "urlRewrite": {"hostname": "elsewhere.test"}}])]),
        rule(None, [backend_ref("web")]),
    ]  # fmt: skip
    return [
        gateway("edge", class_name="nginx", listeners=[listener("http", 80)]),
        http_route("refs", parents=[parent("edge")], hostnames=[HOST], rules=rules),
    ]


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("web", "other", "copy") as backends:
        yield backends


@pytest.fixture(scope="module")
def site(nginx_binary: str, echo: dict[str, EchoBackend]) -> Iterator[Site]:
    objects = [*_objects(), *(item for backend in echo.values() for item in echo_service(backend))]
    with serving(objects, binary=nginx_binary) as served:
        yield served


def test_the_rule_filters_and_each_backend_refs_own_apply_to_its_requests(site: Site) -> None:
    seen: dict[str, set[tuple[str, str, str | None]]] = {}
    for _ in range(40):
        response = site.get("/split/x", HOST)
        assert response.status == 200
        answer = response.json()
        headers = answer["headers"]
        seen.setdefault(answer["backend"], set()).add(
            (headers["x-rule"], headers["x-ref"], response.headers.get("X-From"))
        )
    assert seen == {"web": {("r", "a", None)}, "other": {("r", "b", "other")}}


def test_a_single_backend_refs_filters_come_after_the_rules(site: Site) -> None:
    headers = site.get("/solo", HOST).json()["headers"]
    assert (headers["x-rule"], headers["x-ref"]) == ("s", "solo")


def test_a_mirror_of_a_rule_with_weighted_backend_refs_is_sent(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    response = site.get("/mirrored/y", HOST, headers=[("X-Probe", "w1")])
    assert response.status == 200
    for _ in range(100):  # the copy is sent in the background: wait for it, boundedly
        copies = [r for r in echo["copy"].requests if r.headers.get("x-probe") == "w1"]
        if copies:
            break
        time.sleep(0.05)
    assert [copy.path for copy in copies] == ["/mirrored/y"]


def test_a_filter_a_backend_ref_cannot_honour_answers_500(site: Site) -> None:
    assert site.get("/refused", HOST).status == 500
    assert site.get("/other", HOST).json()["backend"] == "web"
    assert "URLRewrite" in site.messages
