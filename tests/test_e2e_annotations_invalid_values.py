"""Invalid annotation values, proven through real nginx with echo backends.

As in ingress-nginx, a value outside an annotation's allowlist is ignored with a warning naming
the annotation, and its default applies: the Ingress stays served (a migration must not take a
working site offline over ``proxy-read-timeout: "ten"``). Where ignoring would leave paths less
protected than asked for — authentication, source ranges — the paths are denied instead: they
stay claimed and answer 503, as ingress-nginx's denied locations do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Obj, Site, echo_service, ingress, path, rule, serving, started_backends, to

PREFIX = "nginx.ingress.kubernetes.io/"

IGNORED: dict[str, tuple[str, str]] = {
    "read-timeout": ("proxy-read-timeout", "ten"),
    "body-size": ("proxy-body-size", "15r"),
    "connect-timeout": ("proxy-connect-timeout", "50k"),
    "body-buffer": ("client-body-buffer-size", "1b"),
    "forwarded-prefix": ("x-forwarded-prefix", ""),
    "tries": ("proxy-next-upstream-tries", "888888"),
    "blank-origin": ("cors-allow-origin", ""),
}
"""Ingress name -> (annotation, invalid value); each Ingress serves ``<name>.test``."""


def on(name: str, route: str = "/", backend: str = "app", host: str = "", **values: str) -> Obj:
    """An Ingress `name` serving `route` on `host` (``<name>.test``) with annotations `values`."""
    annotations = {PREFIX + key.replace("_", "-"): value for key, value in values.items()}
    return ingress(name, rules=[rule(host or f"{name}.test", path(route, to(backend)))],
                   annotations=annotations)  # fmt: skip


def with_bad_value(name: str) -> Obj:
    annotation, value = IGNORED[name]
    extra = {"enable_cors": "true"} if annotation.startswith("cors-") else {}
    return on(name, **{annotation.replace("-", "_"): value}, **extra)


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    objects = [with_bad_value(name) for name in IGNORED]
    objects += [
        on("small-body", proxy_body_size="1k"),
        on("origins", enable_cors="true", cors_allow_origin="partner.test, https://ok.test"),
        on("no-origin", enable_cors="true", cors_allow_origin="partner.test"),
        on("auth", "/private", auth_url="https://invalid..auth.url"),
        on("auth-open", "/", backend="open", host="auth.test"),
        on("ranges", "/admin", whitelist_source_range="127.0.0.1, 10.0.0.0/33"),
        on("ranges-open", "/", backend="open", host="ranges.test"),
        on("deny", "/", denylist_source_range="fe80::1%eth0"),
        on("canary"),
        on("canary-by-cookie", backend="next", host="canary.test", canary="true",
           canary_by_cookie="Canary-By-Cookie", canary_weight="0"),
    ]  # fmt: skip
    with started_backends("app", "open", "next") as echo:
        for backend in echo.values():
            objects.extend(echo_service(backend))
        with serving(objects, binary=nginx_binary) as served:
            yield served


# --------------------------------------------------------------------------- ignored


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_an_ingress_with_an_invalid_value_is_still_served_by_its_backend(
    site: Site, name: str
) -> None:
    annotation, value = IGNORED[name]
    assert site.served_by("/x", f"{name}.test") == "app"
    assert (
        f"warning: ingress default/{name}: metadata.annotations[{PREFIX}{annotation}]:"
        f' invalid value "{value}": '
    ) in site.messages
    assert f"ingress default/{name}: rejected" not in site.messages


def test_an_ignored_body_size_leaves_the_default_of_1m(site: Site) -> None:
    body = "x" * 4096
    small = site.get("/x", host="small-body.test", method="POST", body=body)
    assert (small.status, small.backend) == (413, None)  # the annotation matters when valid
    response = site.get("/x", host="body-size.test", method="POST", body=body)
    assert (response.status, response.backend) == (200, "app")
    assert response.json()["body"] == body


def test_an_ignored_body_buffer_size_still_reads_bodies(site: Site) -> None:
    body = "y" * 20000
    response = site.get("/x", host="body-buffer.test", method="POST", body=body)
    assert (response.status, response.backend) == (200, "app")
    assert response.json()["body"] == body


def test_an_empty_x_forwarded_prefix_sends_no_header(site: Site) -> None:
    headers = site.get("/x", host="forwarded-prefix.test").json()["headers"]
    assert "x-forwarded-prefix" not in {name.lower() for name in headers}


def test_no_ignored_value_reaches_nginx_conf(site: Site) -> None:
    config = site.rendered.config
    for needle in ("ten;", "15r", "50k", " 1b;", "888888", "invalid..auth", "/33"):
        assert needle not in config, needle


def test_a_blank_cors_allow_origin_allows_every_origin_by_default(site: Site) -> None:
    response = site.get("/x", host="blank-origin.test", headers={"Origin": "https://a.test"})
    assert response.backend == "app"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_origin_without_scheme_is_dropped_and_the_rest_kept(site: Site) -> None:
    kept = site.get("/x", host="origins.test", headers={"Origin": "https://ok.test"})
    assert kept.backend == "app"
    assert kept.headers["Access-Control-Allow-Origin"] == "https://ok.test"
    dropped = site.get("/x", host="origins.test", headers={"Origin": "http://partner.test"})
    assert dropped.backend == "app"
    assert "Access-Control-Allow-Origin" not in dropped.headers
    assert (
        f"warning: ingress default/origins: metadata.annotations[{PREFIX}cors-allow-origin]:"
        " value \"partner.test, https://ok.test\": 'partner.test' dropped"
    ) in site.messages


def test_when_no_origin_is_left_none_is_allowed_and_the_ingress_is_served(site: Site) -> None:
    for origin in ("http://partner.test", "https://partner.test", "https://any.test"):
        response = site.get("/x", host="no-origin.test", headers={"Origin": origin})
        assert response.backend == "app"
        assert "Access-Control-Allow-Origin" not in response.headers


# --------------------------------------------------------------------------- denied


def test_an_auth_url_that_is_not_a_url_answers_503(site: Site) -> None:
    response = site.get("/private/x", host="auth.test")
    assert (response.status, response.backend) == (503, None)
    assert (
        f"error: ingress default/auth: metadata.annotations[{PREFIX}auth-url]: invalid value"
        ' "https://invalid..auth.url"'
    ) in site.messages
    assert "answers 503" in site.messages


def test_a_denied_path_stays_claimed_beside_another_ingress_of_its_host(site: Site) -> None:
    assert site.get("/private", host="auth.test").status == 503
    assert site.served_by("/elsewhere", "auth.test") == "open"


def test_an_invalid_whitelist_source_range_still_denies(site: Site) -> None:
    """127.0.0.1 is listed, but the list as a whole is not valid: nobody gets through."""
    response = site.get("/admin/x", host="ranges.test")
    assert (response.status, response.backend) == (503, None)
    assert site.served_by("/public", "ranges.test") == "open"
    assert (
        f"error: ingress default/ranges: metadata.annotations[{PREFIX}whitelist-source-range]:"
    ) in site.messages


def test_an_invalid_denylist_source_range_denies(site: Site) -> None:
    response = site.get("/x", host="deny.test")
    assert (response.status, response.backend) == (503, None)


# --------------------------------------------------------------------------- canary cookie


@pytest.mark.parametrize(
    ("cookie", "backend"),
    [
        ("Canary-By-Cookie=always", "next"),
        ("session=1; Canary-By-Cookie=always; other=2", "next"),
        ("Canary-By-Cookie=never", "app"),
        ("Canary-By-Cookie=sometimes", "app"),
        ("XCanary-By-Cookie=always", "app"),
        (None, "app"),
    ],
)
def test_canary_by_cookie_takes_a_cookie_name_with_dashes(
    site: Site, cookie: str | None, backend: str
) -> None:
    headers = {"Cookie": cookie} if cookie else {}
    response = site.get("/x", host="canary.test", headers=headers)
    assert (response.status, response.backend) == (200, backend)
