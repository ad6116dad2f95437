"""session-cookie-expires proven through real nginx: where the affinity cookie's attributes are
fixed for a location (Secure asked for, or only HTTPS reaching it), nginx's userid module hands
it out with an Expires date now plus that many seconds, Max-Age from session-cookie-max-age
beside it, and the requests carrying it stick to one endpoint; elsewhere the lifetime is
written as Max-Age. Echo backends are the endpoints."""

from __future__ import annotations

import email.utils
import http.cookies
import time
from collections.abc import Iterator

import pytest
from e2e import (
    Obj,
    Site,
    endpoint_slice,
    ingress,
    path,
    rule,
    service,
    serving,
    started_backends,
    to,
)
from harness import Response, free_port, request
from tls_secrets import tls_secret

PREFIX = "nginx.ingress.kubernetes.io/"
EXPIRES = 3600
MAX_AGE = 7200
TLS_EXPIRES = 600


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


@pytest.fixture(scope="module")
def https_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(nginx_binary: str, https_port: int) -> Iterator[Site]:
    with started_backends("e1", "e2", "p1", "p2") as echo:
        objects: list[Obj] = [
            *ingresses(),
            tls_secret("default", "expiring-tls", ["tls.expires.test"]),
            service("expiring-pool"),
            endpoint_slice("expiring-pool", echo["e1"]),
            endpoint_slice("expiring-pool", echo["e2"]),
            service("plain-pool"),
            endpoint_slice("plain-pool", echo["p1"]),
            endpoint_slice("plain-pool", echo["p2"]),
        ]
        with serving(objects, "--https-port", str(https_port), binary=nginx_binary) as served:
            yield served


def ingresses() -> list[Obj]:
    expiring = ingress(
        "expiring",
        rules=[rule("expires.test", path("/app", to("expiring-pool")))],
        annotations=annotated(
            affinity="cookie",
            session_cookie_name="route",
            session_cookie_expires=str(EXPIRES),
            session_cookie_max_age=str(MAX_AGE),
            session_cookie_path="/app",
            session_cookie_domain="expires.test",
            session_cookie_samesite="Lax",
            session_cookie_secure="true",
        ),
        created="2026-01-01T00:00:00Z",
    )
    on_tls = ingress(
        "expiring-tls",
        rules=[rule("tls.expires.test", path("/", to("expiring-pool")))],
        annotations=annotated(
            affinity="cookie",
            session_cookie_name="route",
            session_cookie_expires=str(TLS_EXPIRES),
        ),
        created="2026-01-02T00:00:00Z",
    )
    on_tls["spec"]["tls"] = [{"hosts": ["tls.expires.test"], "secretName": "expiring-tls"}]
    plain = ingress(
        "expiring-plain",
        rules=[rule("plain.expires.test", path("/", to("plain-pool")))],
        annotations=annotated(affinity="cookie", session_cookie_expires="900"),
    )
    follower = ingress(
        "expiring-follower",
        rules=[rule("follow.expires.test", path("/", to("expiring-pool")))],
        created="2026-01-03T00:00:00Z",
    )
    return [expiring, on_tls, plain, follower]


def handed_out(response: Response, name: str = "route") -> http.cookies.Morsel[str]:
    """The one cookie `name` a response sets (it must set exactly one)."""
    headers = response.headers.get_all("Set-Cookie") or []
    assert len(headers) == 1, f"expected one Set-Cookie, got {headers}"
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    jar.load(headers[0])
    assert list(jar) == [name], headers
    return jar[name]


def test_the_cookie_expires_that_many_seconds_from_now_with_the_attributes_asked(
    site: Site,
) -> None:
    before = time.time()
    response = site.get("/app/cart", host="expires.test")
    after = time.time()
    assert response.status == 200
    cookie = handed_out(response)
    expires = email.utils.parsedate_to_datetime(cookie["expires"]).timestamp()
    assert int(before) + EXPIRES - 1 <= expires <= after + EXPIRES + 1
    assert cookie["max-age"] == str(MAX_AGE)
    assert cookie["path"] == "/app"
    assert cookie["domain"] == "expires.test"
    assert cookie["samesite"].lower() == "lax"
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert len(cookie.value) == 24, "userid's 16 bytes, base64"


def test_every_request_with_the_cookie_reaches_the_endpoint_that_gave_it(site: Site) -> None:
    for _ in range(6):
        first = site.get("/app", host="expires.test")
        value = handed_out(first).value
        headers = {"Cookie": f"theme=dark; route={value}"}
        answers = [site.get("/app/x", host="expires.test", headers=headers) for _ in range(8)]
        assert {answer.backend for answer in answers} == {first.backend}
        assert all(answer.headers.get("Set-Cookie") is None for answer in answers)


def test_requests_without_the_cookie_spread_over_every_endpoint(site: Site) -> None:
    reached = {site.get("/app", host="expires.test").backend for _ in range(24)}
    assert reached == {"e1", "e2"}


def test_different_cookies_spread_over_every_endpoint(site: Site) -> None:
    cookies = [handed_out(site.get("/app", host="expires.test")).value for _ in range(24)]
    reached = {
        site.get("/app", host="expires.test", headers={"Cookie": f"route={value}"}).backend
        for value in cookies
    }
    assert reached == {"e1", "e2"}


def test_a_cookie_ingress_nginx_handed_out_is_replaced_once_and_the_new_one_sticks(
    site: Site,
) -> None:
    legacy = {"Cookie": "route=1764627123.456.4242.123456"}
    first = site.get("/app", host="expires.test", headers=legacy)
    value = handed_out(first).value
    assert value != "1764627123.456.4242.123456"
    headers = {"Cookie": f"route={value}"}
    answers = [site.get("/app", host="expires.test", headers=headers) for _ in range(6)]
    assert {answer.backend for answer in answers} == {first.backend}


def test_a_cookie_userid_cannot_read_is_replaced(site: Site) -> None:
    response = site.get("/app", host="expires.test", headers={"Cookie": "route=short"})
    assert handed_out(response).value != "short"


def test_on_a_tls_host_only_https_gets_the_cookie_and_it_is_secure(
    site: Site, https_port: int
) -> None:
    redirected = site.get("/", host="tls.expires.test")
    assert redirected.status == 308
    assert redirected.headers.get("Set-Cookie") is None
    before = time.time()
    response = request(https_port, "/", host="tls.expires.test", tls=True)
    after = time.time()
    assert response.status == 200
    cookie = handed_out(response)
    expires = email.utils.parsedate_to_datetime(cookie["expires"]).timestamp()
    assert int(before) + TLS_EXPIRES - 1 <= expires <= after + TLS_EXPIRES + 1
    assert cookie["max-age"] == ""
    assert cookie["path"] == "/"
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    headers = {"Cookie": f"route={cookie.value}"}
    answers = [
        request(https_port, "/", host="tls.expires.test", tls=True, headers=headers)
        for _ in range(6)
    ]
    assert {answer.backend for answer in answers} == {response.backend}


def test_where_secure_follows_the_scheme_the_lifetime_is_max_age(
    site: Site, https_port: int
) -> None:
    response = site.get("/", host="plain.expires.test")
    cookie = handed_out(response, "INGRESSCOOKIE")
    assert cookie["max-age"] == "900" and cookie["expires"] == ""
    assert cookie["secure"] == ""
    over_https = request(https_port, "/", host="plain.expires.test", tls=True)
    secure = handed_out(over_https, "INGRESSCOOKIE")
    assert secure["secure"] is True


def test_a_younger_ingress_on_the_same_service_sends_the_cookie_to_its_endpoint(
    site: Site,
) -> None:
    for _ in range(6):
        first = site.get("/app", host="expires.test")
        headers = {"Cookie": f"route={handed_out(first).value}"}
        answers = [site.get("/", host="follow.expires.test", headers=headers) for _ in range(3)]
        assert {answer.backend for answer in answers} == {first.backend}
        assert all(answer.headers.get("Set-Cookie") is None for answer in answers)
    assert site.get("/", host="follow.expires.test").headers.get("Set-Cookie") is None
