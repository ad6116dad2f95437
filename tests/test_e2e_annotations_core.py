"""The first groups of ingress-nginx annotations, proven through real nginx: rewrites, regex
paths, redirects, host aliases and proxy settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to

PREFIX = "nginx.ingress.kubernetes.io/"


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    objects = [
        ingress(
            "rewrite",
            rules=[
                rule(
                    "rewrite.test",
                    path("/something(/|$)(.*)", to("echo"), "ImplementationSpecific"),
                )
            ],
            annotations=annotated(
                use_regex="true", rewrite_target="/$2", x_forwarded_prefix="/something"
            ),
            created="2026-01-01T00:00:00Z",
        ),
        ingress(
            "regex",
            rules=[
                rule(
                    "regex.test",
                    path("/api/v[0-9]+/users", to("users"), "ImplementationSpecific"),
                    path("/api/v1/users/admin", to("admin"), "Prefix"),
                    path("/exact", to("exact"), "Exact"),
                )
            ],
            annotations=annotated(use_regex="true"),
        ),
        ingress(
            "site",
            rules=[rule("www.site.test", path("/", to("site")))],
            annotations=annotated(
                app_root="/app1",
                server_alias="alias.test",
                from_to_www_redirect="true",
                upstream_vhost="internal.svc",
                proxy_body_size="1k",
            ),
        ),
        ingress(
            "moved",
            rules=[rule("moved.test", path("/", to("site")))],
            annotations=annotated(permanent_redirect="https://new.test/landing?from=old"),
        ),
        ingress(
            "moved-temporarily",
            rules=[rule("temporary.test", path("/", to("site")))],
            annotations=annotated(
                temporal_redirect="https://maintenance.test/", temporal_redirect_code="307"
            ),
        ),
        ingress(
            "redirect-default",
            rules=[rule("redirect-default.test", path("/", to("site")))],
            annotations=annotated(proxy_redirect_from="default"),
        ),
        ingress(
            "redirect-pair",
            rules=[rule("redirect-pair.test", path("/", to("site")))],
            annotations=annotated(
                proxy_redirect_from="http://internal.example/",
                proxy_redirect_to="https://public.test/",
            ),
        ),
    ]
    with started_backends("echo", "users", "admin", "exact", "site") as echo:
        for backend in echo.values():
            objects.extend(echo_service(backend))
        with serving(objects, binary=nginx_binary) as served:
            yield served


def test_rewrite_target_sends_the_capture_group_to_the_backend(site: Site) -> None:
    response = site.get("/something/new/path?x=1", host="rewrite.test")
    assert response.backend == "echo"
    assert response.json()["path"] == "/new/path?x=1"


def test_rewrite_target_turns_the_bare_prefix_into_the_root(site: Site) -> None:
    assert site.get("/something", host="rewrite.test").json()["path"] == "/"


def test_x_forwarded_prefix_accompanies_the_rewrite(site: Site) -> None:
    headers = site.get("/something/a", host="rewrite.test").json()["headers"]
    assert headers["x-forwarded-prefix"] == "/something"


def test_use_regex_paths_match_case_insensitively(site: Site) -> None:
    assert site.served_by("/API/V2/USERS", "regex.test") == "users"


def test_regex_paths_match_as_regexes(site: Site) -> None:
    assert site.served_by("/api/v42/users", "regex.test") == "users"
    assert site.served_by("/api/vX/users", "regex.test") is None


def test_on_a_regex_host_the_longest_path_wins(site: Site) -> None:
    assert site.served_by("/api/v1/users/admin/x", "regex.test") == "admin"


def test_on_a_regex_host_prefix_paths_stay_element_wise_and_case_sensitive(site: Site) -> None:
    assert site.served_by("/api/v1/users/adminx", "regex.test") == "users"
    assert site.served_by("/API/V1/USERS/ADMIN", "regex.test") == "users"


def test_on_a_regex_host_exact_paths_stay_exact(site: Site) -> None:
    assert site.served_by("/exact", "regex.test") == "exact"
    assert site.served_by("/exact/more", "regex.test") is None


def test_app_root_redirects_the_root_only(site: Site) -> None:
    response = site.get("/", host="www.site.test")
    assert response.status == 302
    assert response.headers["Location"] == "http://www.site.test/app1"
    assert site.served_by("/other", "www.site.test") == "site"


def test_server_alias_serves_the_same_paths(site: Site) -> None:
    assert site.served_by("/x", "alias.test") == "site"


def test_from_to_www_redirect_sends_the_bare_domain_to_www(site: Site) -> None:
    response = site.get("/page?q=1", host="site.test")
    assert response.status == 308
    assert response.headers["Location"] == "http://www.site.test/page?q=1"


def test_upstream_vhost_sets_the_host_header_the_backend_sees(site: Site) -> None:
    headers = site.get("/x", host="www.site.test").json()["headers"]
    assert headers["host"] == "internal.svc"
    assert headers["x-forwarded-host"] == "www.site.test"


def test_proxy_body_size_refuses_larger_bodies(site: Site) -> None:
    assert site.get("/x", host="www.site.test", method="POST", body="a" * 512).status == 200
    assert site.get("/x", host="www.site.test", method="POST", body="a" * 4096).status == 413


def test_permanent_redirect_answers_301_with_the_url(site: Site) -> None:
    response = site.get("/anything", host="moved.test")
    assert response.status == 301
    assert response.headers["Location"] == "https://new.test/landing?from=old"


def test_temporal_redirect_answers_with_its_code(site: Site) -> None:
    response = site.get("/anything", host="temporary.test")
    assert response.status == 307
    assert response.headers["Location"] == "https://maintenance.test/"


def _location_seen(site: Site, host: str, location: str) -> str:
    response = site.get("/page", host=host, headers=[("X-Echo-Location", location)])
    assert response.backend == "site"
    return str(response.headers["Location"])


def test_proxy_redirect_default_rewrites_the_proxied_url_to_this_server(site: Site) -> None:
    seen = _location_seen(site, "redirect-default.test", "http://default_site_80/next?x=1")
    assert seen == f"http://redirect-default.test:{site.port}/next?x=1"  # as nginx's default


def test_proxy_redirect_from_to_rewrites_location_headers(site: Site) -> None:
    seen = _location_seen(site, "redirect-pair.test", "http://internal.example/a/b")
    assert seen == "https://public.test/a/b"


def test_location_headers_pass_unchanged_without_proxy_redirect(site: Site) -> None:
    seen = _location_seen(site, "www.site.test", "http://default_site_80/next")
    assert seen == "http://default_site_80/next"


def test_an_invalid_annotation_value_is_ignored_and_its_ingress_served(nginx_binary: str) -> None:
    """As ingress-nginx: the value is ignored with a warning, its default applies (more in
    test_e2e_annotations_invalid_values.py)."""
    with started_backends("good", "bad") as echo:
        objects = [
            ingress("good", rules=[rule("good.test", path("/", to("good")))]),
            ingress(
                "bad",
                rules=[rule("bad.test", path("/", to("bad")))],
                annotations=annotated(proxy_read_timeout="soon"),
            ),
            *echo_service(echo["good"]),
            *echo_service(echo["bad"]),
        ]
        with serving(objects, binary=nginx_binary) as served:
            assert served.served_by("/", "good.test") == "good"
            assert served.served_by("/", "bad.test") == "bad"
            assert (
                "warning: ingress default/bad: metadata.annotations"
                '[nginx.ingress.kubernetes.io/proxy-read-timeout]: invalid value "soon"'
            ) in served.messages
            assert "soon" not in served.rendered.config


def test_rewrite_target_works_with_a_backend_resolved_by_dns(nginx_binary: str) -> None:
    """A ``rewrite ... break`` ends nginx's rewrite phase: the backend's address must be set
    before it, or the proxy would have no address (a 500)."""
    from dnsstub import DnsStub

    with DnsStub() as dns, started_backends("ghost") as echo:
        objects = [
            ingress("rewrite-dns",
                    rules=[rule("dns.test", path("/app(/|$)(.*)", to("ghost", echo["ghost"].port),
                                                 "ImplementationSpecific"))],
                    annotations=annotated(rewrite_target="/$2")),
        ]  # fmt: skip
        with serving(objects, "--resolver", dns.endpoint, binary=nginx_binary) as served:
            response = served.get("/app/inner?q=1", host="dns.test")
            assert (response.status, response.backend) == (200, "ghost")
            assert response.json()["path"] == "/inner?q=1"


def test_on_a_regex_host_every_implementation_specific_path_is_a_regex(nginx_binary: str) -> None:
    """use-regex makes the host's ImplementationSpecific paths regexes, whichever Ingress wrote
    them (as ingress-nginx): ``/o+`` matches ``/oooo``, which it would not as a
    prefix; Prefix paths stay element-wise."""
    with started_backends("regex", "other", "prefix") as echo:
        objects = [
            ingress("with-regex", annotations=annotated(use_regex="true"),
                    rules=[rule("mixed.test", path("/r[0-9]+", to("regex"),
                                                   "ImplementationSpecific"))]),
            ingress("without", rules=[rule("mixed.test",
                                           path("/o+", to("other"), "ImplementationSpecific"),
                                           path("/p", to("prefix")))]),
            *[item for name in ("regex", "other", "prefix") for item in echo_service(echo[name])],
        ]  # fmt: skip
        with serving(objects, binary=nginx_binary) as served:
            assert served.served_by("/r42", "mixed.test") == "regex"
            assert served.served_by("/oooo/x", "mixed.test") == "other"
            assert served.served_by("/p/x", "mixed.test") == "prefix"
            assert served.served_by("/px", "mixed.test") is None
