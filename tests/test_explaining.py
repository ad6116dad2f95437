"""explain's replay of nginx's choice agrees with real nginx, request after request."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from e2e import (
    Site,
    echo_service,
    ingress,
    manifest_text,
    path,
    render,
    rule,
    serving,
    started_backends,
    to,
)

from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.model import ProxyToUpstream, Respond
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.report.explaining import explain_request, normalize_uri, shadowed
from ingress2nginx.sources.loading import load_text

SERVICES = ("root", "foo", "foobar", "exact", "deep", "regex", "wild", "any", "fallback")
HOSTS = ("a.test", "A.TEST:8080", "x.wild.test", "y.x.wild.test", "regex.test", "other.test")
PATHS = (
    "/", "/foo", "/foo/", "/foo/x", "/foobar", "/foobar/", "/FOO", "/exact", "/exact/",
    "/deep/er/path", "/deep/er", "/deep/err", "//foo", "/foo/../exact", "/f%6Fo/x",
    "/api/v1/users", "/API/v2/users/x", "/api/vx/users", "/static/a", "/staticx", "/x?y=/foo",
)  # fmt: skip


def objects() -> list[dict[str, object]]:
    return [
        ingress("main", rules=[
            rule("a.test", path("/", to("root")), path("/foo", to("foo")),
                 path("/foobar", to("foobar")), path("/exact", to("exact"), "Exact"),
                 path("/deep/er/", to("deep"))),
            rule("*.wild.test", path("/", to("wild"))),
            rule(None, path("/foo", to("any"))),
        ], default_backend=to("fallback")),
        ingress("regex", rules=[rule("regex.test",
            path("/api/v[0-9]+/users", to("regex"), "ImplementationSpecific"),
            path("/static", to("foo")), path("/exact", to("exact"), "Exact"))],
            annotations={"nginx.ingress.kubernetes.io/use-regex": "true"}),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[tuple[Site, object]]:
    with started_backends(*SERVICES) as echo:
        manifests = objects() + [item for name in SERVICES for item in echo_service(echo[name])]
        loaded = load_text(manifest_text(manifests), "test")
        config = normalize(Inventory.build(loaded.manifests), Settings()).config
        with serving(manifests, binary=nginx_binary) as served:
            yield served, config


@pytest.mark.parametrize(("host", "target"), list(itertools.product(HOSTS, PATHS)))
def test_explain_names_the_backend_real_nginx_uses(
    site: tuple[Site, object], host: str, target: str
) -> None:
    served, config = site
    answer = explain_request(config, f"http://{host}{target}")  # type: ignore[arg-type]
    response = served.get(target, host=host)
    action = answer.location.action
    if isinstance(action, ProxyToUpstream):
        expected = action.service.split("/")[1].split(":")[0]
        assert response.backend == expected, answer.steps
    else:
        assert isinstance(action, Respond)
        assert (response.status, response.backend) == (action.status, None), answer.steps


def test_uris_are_normalized_as_nginx_does() -> None:
    assert normalize_uri("//a///b") == "/a/b"
    assert normalize_uri("/a/./b/../c/") == "/a/c/"
    assert normalize_uri("/caf%C3%A9") == "/café"


def test_a_path_hidden_by_a_longer_regex_is_reported_as_shadowed() -> None:
    manifests = [
        ingress("wide", rules=[rule("r.test", path("/a.*", to("regex"),
                                                   "ImplementationSpecific"))],
                annotations={"nginx.ingress.kubernetes.io/use-regex": "true"}),
        ingress("narrow", rules=[rule("r.test", path("/ab", to("foo")))]),
    ]  # fmt: skip
    config = normalize(
        Inventory.build(load_text(manifest_text(manifests), "t").manifests), Settings()
    ).config
    found = [(item.route.origin, item.winners) for item in shadowed(config)]
    assert [origin.name for origin, _ in found] == ["narrow"]
    assert [winner.origin.name for winner in found[0][1] if winner.origin] == ["wide"]
    assert render(manifests).code == 0
