"""Merging, conflicts and class selection through real nginx.

One manifest is served four ways: as is (our class ``nginx`` is not the default class), with
our IngressClass marked default, with ``--watch-ingress-without-class``, and with
``--ingress-class traefik``. There is no rule without host and no default backend, so a host
whose Ingress is not served answers nginx's own 404.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import (
    Obj,
    Site,
    echo_service,
    ingress,
    ingress_class,
    path,
    rule,
    serving,
    started_backends,
    to,
)
from harness import EchoBackend

CLASS_ANNOTATION = "kubernetes.io/ingress.class"

# (namespace, service): every backend the manifest names
SERVICES = (
    ("team-a", "merge-a"), ("team-b", "merge-b"),
    ("team-z", "docs-old"), ("team-a", "docs-new"), ("team-a", "status-new"),
    ("team-c", "alpha"), ("team-c", "beta"),
    ("default", "by-field"), ("default", "by-annotation"), ("default", "other-class"),
    ("default", "classless"),
)  # fmt: skip


def merging_and_conflicts() -> list[Obj]:
    """Younger Ingresses come first: the input order must not decide who wins."""
    return [
        ingress("web", namespace="team-b", rules=[rule("shared.test", path("/b", to("merge-b")))]),
        ingress("api", namespace="team-a", rules=[rule("shared.test", path("/a", to("merge-a")))]),
        ingress("newer", namespace="team-a", created="2026-02-01T00:00:00Z", rules=[
            rule("shared.test", path("/docs/", to("docs-new")),
                 path("/status", to("status-new"), "Exact")),
        ]),
        ingress("oldest-elsewhere", namespace="team-y", class_name="traefik",
                created="2020-01-01T00:00:00Z",
                rules=[rule("shared.test", path("/docs", to("docs-new")))]),
        ingress("older", namespace="team-z", created="2026-01-01T00:00:00Z", rules=[
            rule("shared.test", path("/docs", to("docs-old"))),
        ]),
        ingress("beta", namespace="team-c", created="2026-03-01T00:00:00Z", rules=[
            rule("tie.test", path("/", to("beta"))),
        ]),
        ingress("alpha", namespace="team-c", created="2026-03-01T00:00:00Z", rules=[
            rule("tie.test", path("/", to("alpha"))),
        ]),
    ]  # fmt: skip


def classes() -> list[Obj]:
    def only(name: str) -> list[Obj]:
        return [rule(f"{name}.test", path("/", to(name)))]

    return [
        ingress("by-field", rules=only("by-field")),
        ingress("by-annotation", class_name=None, annotations={CLASS_ANNOTATION: "nginx"},
                rules=only("by-annotation")),
        ingress("other-class", class_name="traefik", rules=only("other-class")),
        ingress("classless", class_name=None, rules=only("classless")),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends(*(name for _, name in SERVICES)) as backends:
        yield backends


def manifest(echo: dict[str, EchoBackend], *extra: Obj) -> list[Obj]:
    services = [obj for ns, name in SERVICES for obj in echo_service(echo[name], namespace=ns)]
    return [*merging_and_conflicts(), *classes(), *services, *extra]


@pytest.fixture(scope="module")
def plain(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    with serving(manifest(echo, ingress_class("nginx")), binary=nginx_binary) as site:
        yield site


@pytest.fixture(scope="module")
def default_class(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    objects = manifest(echo, ingress_class("nginx", default=True))
    with serving(objects, binary=nginx_binary) as site:
        yield site


@pytest.fixture(scope="module")
def without_class(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    objects = manifest(echo)
    with serving(objects, "--watch-ingress-without-class", binary=nginx_binary) as site:
        yield site


@pytest.fixture(scope="module")
def other_class(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    objects = manifest(echo, ingress_class("nginx", default=True))
    with serving(objects, "--ingress-class", "traefik", binary=nginx_binary) as site:
        yield site


def reported(site: Site, *words: str) -> bool:
    """Whether one line on stderr holds every word."""
    return any(all(word in line for word in words) for line in site.messages.splitlines())


@pytest.mark.parametrize(("target", "expected"), [("/a/x", "merge-a"), ("/b", "merge-b")])
def test_several_ingresses_on_one_host_are_merged(plain: Site, target: str, expected: str) -> None:
    assert plain.served_by(target, "shared.test") == expected


@pytest.mark.parametrize("target", ["/docs", "/docs/", "/docs/guide"])
def test_on_a_conflict_the_oldest_ingress_wins(plain: Site, target: str) -> None:
    assert plain.served_by(target, "shared.test") == "docs-old"


def test_the_losing_ingress_of_a_conflict_is_named_on_stderr(plain: Site) -> None:
    assert reported(plain, "team-a/newer", "/docs", "team-z/older")
    assert not reported(plain, "ingress team-z/older")


def test_an_ingress_of_another_class_claims_nothing_even_when_it_is_older(plain: Site) -> None:
    assert plain.served_by("/docs", "shared.test") == "docs-old"
    assert not reported(plain, "team-y/oldest-elsewhere", "/docs")


def test_the_loser_of_a_conflict_still_serves_its_other_paths(plain: Site) -> None:
    assert plain.served_by("/status", "shared.test") == "status-new"


def test_on_a_conflict_between_equal_ages_namespace_and_name_decide(plain: Site) -> None:
    assert plain.served_by("/", "tie.test") == "alpha"
    assert reported(plain, "team-c/beta", "team-c/alpha")


@pytest.mark.parametrize("name", ["by-field", "by-annotation"])
def test_an_ingress_naming_our_class_is_served(plain: Site, name: str) -> None:
    assert plain.served_by("/", f"{name}.test") == name


def test_an_ingress_of_another_class_is_skipped_and_named(plain: Site) -> None:
    assert plain.served_by("/", "other-class.test") is None
    assert reported(plain, "default/other-class", "traefik")


def test_a_classless_ingress_is_not_served_when_our_class_is_not_the_default(plain: Site) -> None:
    assert plain.served_by("/", "classless.test") is None
    assert reported(plain, "default/classless")


def test_a_classless_ingress_is_served_when_our_ingress_class_is_the_default(
    default_class: Site,
) -> None:
    assert default_class.served_by("/", "classless.test") == "classless"
    assert default_class.served_by("/", "other-class.test") is None
    assert not reported(default_class, "default/classless")


def test_a_classless_ingress_is_served_with_watch_ingress_without_class(
    without_class: Site,
) -> None:
    assert without_class.served_by("/", "classless.test") == "classless"
    assert without_class.served_by("/", "by-field.test") == "by-field"
    assert without_class.served_by("/", "other-class.test") is None


def test_with_ingress_class_other_only_that_class_is_served(other_class: Site) -> None:
    assert other_class.served_by("/", "other-class.test") == "other-class"
    for name in ("by-field", "by-annotation", "classless"):
        assert other_class.served_by("/", f"{name}.test") is None
        assert reported(other_class, f"default/{name}")
