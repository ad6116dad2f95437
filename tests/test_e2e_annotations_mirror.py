"""mirror-target, mirror-request-body and mirror-host through real nginx: a second echo backend
receives a copy of each request while the client gets the main backend's answer.

The mirror subrequest runs in the background, so the tests wait (bounded) for the copy to
arrive. The DNS stub answers 127.0.0.1 for every name: the mirror target's host name is only
resolved when a request is mirrored, through the ``resolver``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from dnsstub import DnsStub
from e2e import Site, echo_service, ingress, path, render, rule, serving, started_backends, to
from harness import EchoBackend, RecordedRequest

PREFIX = "nginx.ingress.kubernetes.io/"


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


@pytest.fixture(scope="module")
def mirrored(nginx_binary: str) -> Iterator[tuple[Site, dict[str, EchoBackend], DnsStub]]:
    with DnsStub() as dns, started_backends("main", "mirror", "quiet", "copy") as echo:
        objects = [
            ingress(
                "shop",
                rules=[rule("shop.test", path("/", to("main")))],
                annotations=annotated(
                    mirror_target=f"http://mirror.test:{echo['mirror'].port}$request_uri"
                ),
            ),
            ingress(
                "upload",
                rules=[rule("upload.test", path("/", to("main")))],
                annotations=annotated(
                    mirror_target=f"http://127.0.0.1:{echo['quiet'].port}$request_uri",
                    mirror_request_body="off",
                    mirror_host="shadow.test",
                ),
            ),
            ingress(
                "fixed",
                rules=[rule("fixed.test", path("/", to("main")))],
                annotations=annotated(mirror_target=f"http://127.0.0.1:{echo['copy'].port}/copy"),
            ),
            *echo_service(echo["main"]),
        ]
        with serving(objects, "--resolver", dns.endpoint, binary=nginx_binary) as site:
            yield site, echo, dns


def copies(backend: EchoBackend, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
    """The requests `backend` received, once there are `count` (the mirror is asynchronous)."""
    deadline = time.monotonic() + timeout
    while len(backend.requests) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(backend.requests) >= count, f"{backend.name} got {len(backend.requests)} copies"
    return list(backend.requests)


@pytest.fixture(autouse=True)
def forget_requests(mirrored: tuple[Site, dict[str, EchoBackend], DnsStub]) -> None:
    for backend in mirrored[1].values():
        backend.requests.clear()


def test_the_mirror_gets_a_copy_while_the_client_gets_the_main_backends_answer(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, _ = mirrored
    response = site.get("/cart/items?page=2", host="shop.test")
    assert response.status == 200
    assert response.backend == "main"
    (copy,) = copies(echo["mirror"])
    assert (copy.method, copy.path) == ("GET", "/cart/items?page=2")
    assert copy.headers["host"] == "mirror.test"


def test_the_mirror_target_host_is_resolved_when_a_request_is_mirrored(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, dns = mirrored
    site.get("/", host="shop.test")
    copies(echo["mirror"])
    assert ("mirror.test", 1) in dns.queries


def test_the_request_body_is_mirrored_by_default(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, _ = mirrored
    response = site.get("/orders", host="shop.test", method="POST", body="item=42")
    assert response.backend == "main"
    assert response.json()["body"] == "item=42"
    (copy,) = copies(echo["mirror"])
    assert (copy.method, copy.path, copy.body) == ("POST", "/orders", b"item=42")


def test_mirror_request_body_off_sends_the_mirror_no_body_and_no_length(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, _ = mirrored
    response = site.get("/upload?id=7", host="upload.test", method="POST", body="big file")
    assert response.backend == "main"
    assert response.json()["body"] == "big file"
    (copy,) = copies(echo["quiet"])
    assert (copy.method, copy.path, copy.body) == ("POST", "/upload?id=7", b"")
    assert "content-length" not in copy.headers


def test_mirror_host_sets_the_host_header_of_the_copy(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, _ = mirrored
    site.get("/", host="upload.test")
    (copy,) = copies(echo["quiet"])
    assert copy.headers["host"] == "shadow.test"


def test_a_target_without_request_uri_gets_its_own_path_and_the_query(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site, echo, _ = mirrored
    assert site.get("/anything?x=1", host="fixed.test").backend == "main"
    (copy,) = copies(echo["copy"])
    assert copy.path == "/copy?x=1"
    assert copy.headers["host"] == "127.0.0.1"


def test_clients_cannot_request_the_internal_mirror_location(
    mirrored: tuple[Site, dict[str, EchoBackend], DnsStub],
) -> None:
    site = mirrored[0]
    server = site.rendered.config.split("server_name shop.test;", 1)[1]
    internal = server.split("location = /%mirror-", 1)[1].split(" ", 1)[0]
    response = site.get(f"/%25mirror-{internal}", host="shop.test")
    assert response.status == 404
    assert response.backend is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/$host",
        "https://evil.test$request_uri$host",
        "https://evil.test/?q=1",
        "ftp://evil.test/",
        'https://evil.test/"; return 200 x',
        "https://evil.test/a b",
        "https://under_score.test/",
    ],
)
def test_a_mirror_target_outside_the_documented_forms_is_ignored(target: str) -> None:
    """Ignored with a warning, as ingress-nginx ignores an invalid value: the Ingress is served
    without a mirror, and nothing of the value reaches the config."""
    bad = ingress(
        "bad",
        rules=[rule("bad.test", path("/", to("main")))],
        annotations=annotated(mirror_target=target),
    )
    rendered = render([bad])
    where = f"ingress default/bad: metadata.annotations[{PREFIX}mirror-target]: invalid value"
    assert f"warning: {where}" in rendered.messages
    assert "ignored, the default applies" in rendered.messages
    assert "ingress default/bad: rejected" not in rendered.messages
    assert "server_name bad.test;" in rendered.config
    assert "evil" not in rendered.config and "mirror" not in rendered.config
