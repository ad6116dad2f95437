"""Path matching through real nginx: every path type and match rule, and precedence.

One nginx serves one manifest; each scenario has its own host, and every path routes to an
echo backend named for it, so each answer says which path matched (None: nginx's own 404).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to

BACKENDS = (
    "exact-foo", "bar", "exact-slash", "root", "prefix-foo", "prefix-slash", "bbb", "bb",
    "l-root", "l-api", "l-v1", "l-health", "tie-prefix", "tie-exact",
    "o-root", "o-a", "o-ab", "o-ab-exact", "o-abc", "impl",
)  # fmt: skip

ORDER_PATHS = [
    path("/", to("o-root")),
    path("/a", to("o-a")),
    path("/a/b", to("o-ab")),
    path("/a/b", to("o-ab-exact"), "Exact"),
    path("/a/b/c/", to("o-abc")),
]


def manifests() -> list[dict[str, object]]:
    return [
        ingress("table", rules=[
            rule("exact.test", path("/foo", to("exact-foo"), "Exact"), path("/bar", to("bar"))),
            rule("exact-slash.test", path("/foo/", to("exact-slash"), "Exact")),
            rule("exact-slash-root.test", path("/foo/", to("exact-slash"), "Exact"),
                 path("/", to("root"))),
            rule("exact-slash-deep.test", path("/a/b/", to("exact-slash"), "Exact"),
                 path("/a", to("prefix-foo")), path("/", to("root"))),
            rule("root.test", path("/", to("root"))),
            rule("prefix.test", path("/foo", to("prefix-foo"))),
            rule("prefix-slash.test", path("/foo/", to("prefix-slash"))),
            rule("elements.test", path("/aaa/bbb", to("bbb"))),
            rule("elements-short.test", path("/aaa/bb", to("bb"))),
            rule("impl.test", path("/foo", to("impl"), "ImplementationSpecific")),
            rule("encoded.test", path("/caf%C3%A9", to("prefix-foo")),
                 path("/a%20b", to("exact-foo"), "Exact")),
            rule("raw.test", path("/日本", to("prefix-foo"))),
        ]),
        ingress("longest-outer", created="2026-01-01T00:00:00Z", rules=[
            rule("longest.test", path("/", to("l-root")), path("/api", to("l-api"))),
        ]),
        ingress("longest-inner", created="2026-01-02T00:00:00Z", rules=[
            rule("longest.test", path("/api/v1/health", to("l-health"), "Exact"),
                 path("/api/v1", to("l-v1"))),
        ]),
        ingress("tie-prefix", rules=[
            rule("tie.test", path("/foo", to("tie-prefix")), path("/bar/", to("tie-prefix"))),
        ]),
        ingress("tie-exact", rules=[
            rule("tie.test", path("/foo", to("tie-exact"), "Exact"),
                 path("/bar/", to("tie-exact"), "Exact")),
        ]),
        ingress("order-forward", rules=[rule("order-a.test", *ORDER_PATHS)]),
        ingress("order-reverse", rules=[rule("order-b.test", *reversed(ORDER_PATHS))]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def site(nginx_binary: str) -> Iterator[Site]:
    with started_backends(*BACKENDS) as echo:
        services = [obj for backend in echo.values() for obj in echo_service(backend)]
        with serving([*manifests(), *services], binary=nginx_binary) as served:
            yield served


def test_the_path_table_renders_without_a_single_problem(site: Site) -> None:
    assert site.messages == ""


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/foo", "exact-foo"),
        ("/foo/", None),
        ("/FOO", None),
        ("/foo/x", None),
        ("/foobar", None),
    ],
)
def test_exact_foo_matches_foo_and_nothing_else(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "exact.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/foo", None), ("/foo/", "exact-slash")],
)
def test_exact_foo_slash_does_not_match_foo(site: Site, target: str, expected: str | None) -> None:
    assert site.served_by(target, "exact-slash.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/foo", "root"),
        ("/foo/", "exact-slash"),
        ("/foo/x", "root"),
    ],
)
def test_exact_foo_slash_leaves_foo_to_the_other_paths_of_the_host(
    site: Site, target: str, expected: str
) -> None:
    assert site.served_by(target, "exact-slash-root.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/a/b", "prefix-foo"),
        ("/a/b/", "exact-slash"),
        ("/a/b/c", "prefix-foo"),
        ("/a", "prefix-foo"),
    ],
)
def test_exact_slash_leaves_the_unslashed_path_to_the_longest_prefix_that_matches_it(
    site: Site, target: str, expected: str
) -> None:
    assert site.served_by(target, "exact-slash-deep.test") == expected


@pytest.mark.parametrize("target", ["/", "/foo", "/foo/", "/a/b/c.html", "/FOO?x=1", "/%41"])
def test_prefix_root_matches_anything(site: Site, target: str) -> None:
    assert site.served_by(target, "root.test") == "root"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("prefix.test", "prefix-foo"), ("prefix-slash.test", "prefix-slash")],
    ids=["prefix-foo", "prefix-foo-slash"],
)
@pytest.mark.parametrize("target", ["/foo", "/foo/", "/foo/x", "/foo/x/y/"])
def test_prefix_foo_with_or_without_slash_serves_foo_and_below_directly_without_301(
    site: Site, host: str, expected: str, target: str
) -> None:
    response = site.get(target, host)
    assert (response.status, response.backend) == (200, expected)
    assert response.json()["path"] == target


@pytest.mark.parametrize("host", ["prefix.test", "prefix-slash.test"])
@pytest.mark.parametrize("target", ["/foobar", "/fo", "/FOO", "/"])
def test_prefix_foo_does_not_match_other_elements(site: Site, host: str, target: str) -> None:
    assert site.served_by(target, host) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/aaa/bbb", "bbb"), ("/aaa/bbb/", "bbb"), ("/aaa/bbb/ccc", "bbb"), ("/aaa/bbbxyz", None)],
)
def test_prefix_aaa_bbb_matches_element_wise_not_as_a_string_prefix(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "elements.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"), [("/aaa/bbb", None), ("/aaa/bb", "bb"), ("/aaa/bb/x", "bb")]
)
def test_prefix_aaa_bb_does_not_match_aaa_bbb(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "elements-short.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/foo?x=/bar", "exact-foo"),
        ("/foo?x=1&y=/foo/x", "exact-foo"),
        ("/bar?next=/foo", "bar"),
        ("/foo/?x=/foo", None),
        ("/baz?/foo", None),
    ],
)
def test_the_query_string_never_takes_part_in_matching(
    site: Site, target: str, expected: str | None
) -> None:
    response = site.get(target, "exact.test")
    assert response.backend == expected
    if expected is not None:
        assert response.json()["path"] == target


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "l-root"),
        ("/apix", "l-root"),
        ("/api", "l-api"),
        ("/api/v2", "l-api"),
        ("/api/v1", "l-v1"),
        ("/api/v1/", "l-v1"),
        ("/api/v1/healthz", "l-v1"),
        ("/api/v1/health", "l-health"),
        ("/api/v1/health/", "l-v1"),
    ],
)
def test_the_longest_matching_path_wins_across_ingresses_and_path_types(
    site: Site, target: str, expected: str
) -> None:
    assert site.served_by(target, "longest.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/foo", "tie-exact"),
        ("/foo/", "tie-prefix"),
        ("/foo/x", "tie-prefix"),
        ("/bar/", "tie-exact"),
        ("/bar", "tie-prefix"),
        ("/bar/x", "tie-prefix"),
    ],
)
def test_exact_beats_prefix_on_a_tie(site: Site, target: str, expected: str) -> None:
    assert site.served_by(target, "tie.test") == expected


def test_two_ingresses_on_a_tie_are_not_a_conflict(site: Site) -> None:
    assert "tie-exact" not in site.messages and "tie-prefix" not in site.messages


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "o-root"),
        ("/b", "o-root"),
        ("/a", "o-a"),
        ("/a/", "o-a"),
        ("/ab", "o-root"),
        ("/a/b", "o-ab-exact"),
        ("/a/b/", "o-ab"),
        ("/a/bc", "o-a"),
        ("/a/b/c", "o-abc"),
        ("/a/b/c/d", "o-abc"),
        ("/a/b/cd", "o-ab"),
    ],
)
def test_declaration_order_never_matters(site: Site, target: str, expected: str) -> None:
    forward = site.served_by(target, "order-a.test")
    reverse = site.served_by(target, "order-b.test")
    assert (forward, reverse) == (expected, expected)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/caf%C3%A9", "prefix-foo"),
        ("/caf%c3%a9/menu", "prefix-foo"),
        ("/cafe", None),
        ("/a%20b", "exact-foo"),
        ("/a%20b/", None),
    ],
)
def test_a_percent_encoded_rule_path_matches_the_request_written_encoded(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "encoded.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/%E6%97%A5%E6%9C%AC", "prefix-foo"), ("/%E6%97%A5%E6%9C%AC/x", "prefix-foo"),
     ("/%E6%97%A5", None)],
)  # fmt: skip
def test_a_rule_path_written_in_unicode_matches_the_request_written_encoded(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "raw.test") == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/foo", "impl"), ("/foo/", "impl"), ("/foo/x", "impl"), ("/foobar", None), ("/", None)],
)
def test_implementation_specific_behaves_as_prefix(
    site: Site, target: str, expected: str | None
) -> None:
    assert site.served_by(target, "impl.test") == expected
