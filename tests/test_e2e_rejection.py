"""Invalid input through real nginx: each invalid Ingress is rejected alone.

One render holds a valid Ingress ``good``, a valid rule without host (backend ``anyhost``, so
a host nobody serves answers ``anyhost``), and one invalid Ingress per kind of mistake, each on
its own host and routing to backend ``bad``. Every invalid one must be named on stderr with its
field path and reason, and its host must answer as if it did not exist: ``anyhost``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e import (
    Obj,
    Site,
    echo_service,
    ingress,
    manifest_text,
    path,
    rule,
    serving,
    serving_files,
    started_backends,
    to,
)
from harness import EchoBackend

RULE_PATH = "spec.rules[0].http.paths[0]"


@dataclass(frozen=True)
class Invalid:
    """One kind of invalid Ingress and what the rejection message must say."""

    kind: str
    ingress: Obj
    field: str  # the field path named on stderr
    reason: str  # a phrase of the reason (compared case-insensitively)
    host: str | None  # the host it tried to claim, if any

    @property
    def ref(self) -> str:
        metadata = self.ingress["metadata"]
        return f"{metadata['namespace']}/{metadata['name']}"


def bad_path(kind: str, value: str, reason: str, path_type: str = "Prefix") -> Invalid:
    host = f"{kind}.test"
    manifest = ingress(kind, rules=[rule(host, path(value, to("bad"), path_type))])
    return Invalid(kind, manifest, f"{RULE_PATH}.path", reason, host)


def bad_backend(kind: str, backend: Obj, field: str, reason: str) -> Invalid:
    host = f"{kind}.test"
    manifest = ingress(kind, rules=[rule(host, path("/", backend))])
    return Invalid(kind, manifest, f"{RULE_PATH}.backend{field}", reason, host)


RESOURCE = {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "assets"}

INVALID = [
    bad_path("exact-relative", "foo", "start with '/'", "Exact"),
    bad_path("prefix-relative", "foo", "start with '/'"),
    bad_path("double-slash", "/a//b", "'//'"),
    bad_path("dot-segment", "/a/./b", "'/./'"),
    bad_path("dot-dot-segment", "/a/../b", "'/../'"),
    bad_path("encoded-slash", "/a%2fb", "%2f"),
    bad_path("encoded-slash-upper", "/a%2Fb", "%2f"),
    bad_path("trailing-dot", "/a/.", "'/.'"),
    bad_path("trailing-dot-dot", "/a/..", "'/..'"),
    Invalid(
        "uppercase-host",
        ingress("uppercase-host", rules=[rule("Upper.Case.test", path("/", to("bad")))]),
        "spec.rules[0].host", "lowercase", "upper.case.test",
    ),
    Invalid(
        "ip-host",
        ingress("ip-host", rules=[rule("10.1.2.3", path("/", to("bad")))]),
        "spec.rules[0].host", "ip address", "10.1.2.3",
    ),
    Invalid(
        "missing-path-type",
        ingress("missing-path-type", rules=[rule("missing-path-type.test",
                                                  path("/", to("bad"), None))]),
        f"{RULE_PATH}.pathType", "required", "missing-path-type.test",
    ),
    bad_backend("port-zero", to("bad", 0), ".service.port.number", "between 1 and 65535"),
    bad_backend("port-too-big", to("bad", 65536), ".service.port.number", "between 1 and 65535"),
    bad_backend("service-and-resource", {**to("bad"), "resource": RESOURCE}, "", "exactly one"),
    bad_backend("resource-only", {"resource": RESOURCE}, ".resource", "resource"),
    bad_backend(
        "port-name-and-number",
        {"service": {"name": "bad", "port": {"name": "http", "number": 80}}},
        ".service.port", "exactly one of name and number",
    ),
    Invalid("no-rules", ingress("no-rules"), "spec", "spec.rules", None),
    Invalid(
        "invalid-name",
        ingress("Invalid_Name", rules=[rule("invalid-name.test", path("/", to("bad")))]),
        "metadata.name", "dns-1123", "invalid-name.test",
    ),
]  # fmt: skip

WITH_HOST = [invalid for invalid in INVALID if invalid.host]


def valid_ingresses() -> list[Obj]:
    """``good`` is younger than the invalid ``old-invalid``, which claims its ``/claimed``."""
    old_invalid = ingress("old-invalid", created="2020-01-01T00:00:00Z", rules=[
        rule("good.test", path("/claimed", to("bad"))),
        rule("good.test", path("/x", to("bad", 0))),
    ])  # fmt: skip
    return [
        old_invalid,
        ingress(
            "good",
            created="2026-01-01T00:00:00Z",
            rules=[rule("good.test", path("/", to("good")), path("/claimed", to("good")))],
        ),
        ingress("catch-all", rules=[rule(None, path("/", to("anyhost")))]),
    ]


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, EchoBackend]]:
    with started_backends("good", "anyhost", "bad") as backends:
        yield backends


def services(echo: dict[str, EchoBackend]) -> list[Obj]:
    return [obj for backend in echo.values() for obj in echo_service(backend)]


@pytest.fixture(scope="module")
def site(echo: dict[str, EchoBackend], nginx_binary: str) -> Iterator[Site]:
    objects = [*valid_ingresses(), *(invalid.ingress for invalid in INVALID), *services(echo)]
    with serving(objects, binary=nginx_binary) as served:
        yield served


def rejection_lines(site: Site, invalid: Invalid) -> list[str]:
    """Lines about ``invalid``'s Ingress (its name is quoted when it is not a valid name)."""
    names = (f" {invalid.ref}:", f' "{invalid.ref}":')
    return [line for line in site.messages.splitlines() if any(n in line for n in names)]


@pytest.mark.parametrize("invalid", INVALID, ids=lambda invalid: invalid.kind)
def test_an_invalid_ingress_is_named_with_its_field_path_and_reason(
    site: Site, invalid: Invalid
) -> None:
    lines = rejection_lines(site, invalid)
    assert any(f" {invalid.field}:" in line and invalid.reason in line.lower() for line in lines), (
        f"no message names {invalid.ref} {invalid.field} ({invalid.reason}):\n{site.messages}"
    )


@pytest.mark.parametrize("invalid", WITH_HOST, ids=lambda invalid: invalid.kind)
def test_an_invalid_ingress_host_answers_as_if_it_did_not_exist(
    site: Site, invalid: Invalid, echo: dict[str, EchoBackend]
) -> None:
    assert invalid.host is not None
    assert site.served_by("/", invalid.host) == "anyhost"
    assert site.served_by("/a/b", invalid.host) == "anyhost"


def test_no_request_ever_reaches_a_backend_of_an_invalid_ingress(
    site: Site, echo: dict[str, EchoBackend]
) -> None:
    for invalid in WITH_HOST:
        assert invalid.host is not None
        site.get("/foo", invalid.host)
    assert echo["bad"].requests == []


def test_a_rejected_ingress_claims_nothing_even_when_it_is_older(site: Site) -> None:
    assert site.served_by("/claimed", "good.test") == "good"
    assert "already served" not in site.messages


def test_the_valid_ingress_beside_invalid_ones_is_still_served(site: Site) -> None:
    assert site.served_by("/", "good.test") == "good"
    assert site.served_by("/", "unknown.test") == "anyhost"
    assert " default/good:" not in site.messages
    assert " default/catch-all:" not in site.messages


GOOD_FILE = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: good, namespace: default}
spec:
  ingressClassName: nginx
  rules:
    - host: good.test
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: good, port: {number: 80}}}}
"""

BROKEN_FILE = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: default}
spec:
  rules:
    - host: broken.test
       http: [unclosed
"""
BROKEN_LINE = 7  # where the YAML parser gives up: the over-indented, unclosed mapping


@pytest.fixture(scope="module")
def after_broken_yaml(
    echo: dict[str, EchoBackend], nginx_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("manifests")
    files = [folder / "a-good.yaml", folder / "b-broken.yaml", folder / "c-services.yaml"]
    files[0].write_text(GOOD_FILE)
    files[1].write_text(BROKEN_FILE)
    files[2].write_text(manifest_text(services(echo)))
    with serving_files(files, binary=nginx_binary, expected_code=3) as served:
        yield served


def test_malformed_yaml_is_reported_with_file_and_line_without_a_traceback(
    after_broken_yaml: Site,
) -> None:
    messages = after_broken_yaml.messages
    assert "Traceback" not in messages
    assert any(
        "b-broken.yaml" in line and str(BROKEN_LINE) in line for line in messages.splitlines()
    ), messages


def test_the_other_files_are_still_rendered_after_malformed_yaml(after_broken_yaml: Site) -> None:
    assert after_broken_yaml.served_by("/", "good.test") == "good"
    assert after_broken_yaml.served_by("/", "broken.test") is None
