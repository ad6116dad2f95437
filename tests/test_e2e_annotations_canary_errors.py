"""Canary releases and custom error pages, proven through real nginx with echo backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import (
    Site,
    echo_service,
    endpoint_slice,
    ingress,
    path,
    rule,
    service,
    serving,
    started_backends,
    to,
)

PREFIX = "nginx.ingress.kubernetes.io/"


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


def canary_of(name: str, host: str, backend: str, **rules: str) -> dict[str, object]:
    return ingress(name, rules=[rule(host, path("/", to(backend)))],
                   annotations=annotated(canary="true", **rules))  # fmt: skip


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    hosts = ["header.test", "value.test", "cookie.test", "all.test", "none.test", "half.test"]
    objects: list[dict[str, object]] = [
        ingress(f"main-{index}", rules=[rule(host, path("/", to("stable")))],
                created="2026-01-01T00:00:00Z")
        for index, host in enumerate(hosts)
    ]  # fmt: skip
    objects += [
        canary_of("by-header", "header.test", "next", canary_by_header="X-Canary"),
        canary_of("by-value", "value.test", "next", canary_by_header="X-Version",
                  canary_by_header_value="v2"),
        canary_of("by-cookie", "cookie.test", "next", canary_by_cookie="beta",
                  canary_weight="0"),
        canary_of("all-weight", "all.test", "next", canary_weight="100"),
        canary_of("no-weight", "none.test", "next", canary_weight="0"),
        canary_of("half", "half.test", "next", canary_weight="50",
                  canary_by_header="X-Canary"),
    ]  # fmt: skip
    objects += [
        ingress("pages", rules=[rule("pages.test", path("/", to("app")))],
                annotations=annotated(custom_http_errors="404,503", default_backend="errors")),
        ingress("stand-in", rules=[rule("standin.test", path("/", to("down")))],
                annotations=annotated(default_backend="errors")),
    ]  # fmt: skip
    with started_backends("stable", "next", "app", "errors", "down") as echo:
        for name in ("stable", "next", "app", "errors"):
            objects.extend(echo_service(echo[name]))
        objects += [service("down"), endpoint_slice("down", echo["down"], ready=False)]
        with serving(objects, binary=nginx_binary) as served:
            yield served


def test_the_canary_header_set_to_always_routes_to_the_canary(site: Site) -> None:
    assert site.get("/", "header.test", headers={"X-Canary": "always"}).backend == "next"


def test_the_canary_header_set_to_never_or_absent_keeps_the_main_backend(site: Site) -> None:
    assert site.get("/", "header.test", headers={"X-Canary": "never"}).backend == "stable"
    assert site.get("/", "header.test").backend == "stable"


def test_a_custom_header_value_routes_only_that_value_to_the_canary(site: Site) -> None:
    assert site.get("/", "value.test", headers={"X-Version": "v2"}).backend == "next"
    assert site.get("/", "value.test", headers={"X-Version": "v1"}).backend == "stable"
    assert site.get("/", "value.test", headers={"X-Version": "always"}).backend == "stable"


def test_the_canary_cookie_routes_always_and_never(site: Site) -> None:
    assert site.get("/", "cookie.test", headers={"Cookie": "beta=always"}).backend == "next"
    assert site.get("/", "cookie.test", headers={"Cookie": "beta=never"}).backend == "stable"
    assert site.get("/", "cookie.test").backend == "stable"


def test_weight_100_sends_everything_and_weight_0_nothing_to_the_canary(site: Site) -> None:
    assert {site.get("/", "all.test").backend for _ in range(10)} == {"next"}
    assert {site.get("/", "none.test").backend for _ in range(10)} == {"stable"}


def test_weight_50_splits_requests_between_both(site: Site) -> None:
    seen = {site.get("/", "half.test").backend for _ in range(40)}
    assert seen == {"stable", "next"}


def test_the_header_takes_precedence_over_the_weight(site: Site) -> None:
    answers = {site.get("/", "half.test", headers={"X-Canary": "never"}).backend for _ in range(20)}
    assert answers == {"stable"}


def test_custom_http_errors_are_rendered_by_the_default_backend_service(site: Site) -> None:
    sent = {"X-Echo-Status": "404", "X-Request-ID": "pages-1"}
    response = site.get("/missing", "pages.test", headers=sent)
    assert response.backend == "errors"
    assert response.status == 404, "the error backend's own status (it echoes X-Echo-Status)"
    headers = response.json()["headers"]
    assert headers["x-code"] == "404"
    assert headers["x-original-uri"] == "/missing"
    assert headers["x-namespace"] == "default"
    assert headers["x-ingress-name"] == "pages"
    assert headers["x-service-name"] == "app"
    assert headers["x-request-id"] == "pages-1", "the client's own request ID"
    assert response.json()["path"] == "/"


def test_statuses_not_listed_pass_through_unchanged(site: Site) -> None:
    response = site.get("/x", "pages.test", headers={"X-Echo-Status": "418"})
    assert (response.status, response.backend) == (418, "app")


def test_the_default_backend_stands_in_when_no_endpoint_is_ready(site: Site) -> None:
    assert site.get("/", "standin.test").backend == "errors"


def test_the_stand_in_is_told_what_it_answers_for_as_error_backends_are(site: Site) -> None:
    sent = {"Accept": "application/json", "X-Request-ID": "standin-7"}
    answer = site.get("/shop/cart?item=3", "standin.test", headers=sent).json()
    headers = answer["headers"]
    assert headers["x-code"] == "503"
    assert headers["x-format"] == "application/json"
    assert headers["x-original-uri"] == "/shop/cart?item=3"
    assert (headers["x-namespace"], headers["x-ingress-name"]) == ("default", "stand-in")
    assert (headers["x-service-name"], headers["x-service-port"]) == ("down", "80")
    assert headers["x-request-id"] == "standin-7"
    assert answer["path"] == "/shop/cart?item=3", "the request as it came"
    assert headers["host"] == "standin.test", "the standard headers are still sent"
    assert "default/down:80 has no ready endpoints; the default-backend Service answers" in (
        site.messages
    )
