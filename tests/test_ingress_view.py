"""The typed view validation hands back: what routing, TLS and backends read of an Ingress."""

from __future__ import annotations

from typing import Any

import pytest
from test_validating import F_PATH0, PATH0, changed, manifest, valid_body

from ingress2nginx.core.objects import Manifest
from ingress2nginx.model import PathType
from ingress2nginx.normalize.ingress_view import (
    HTTPPath,
    IngressView,
    Rule,
    ServiceBackend,
    TLSEntry,
)
from ingress2nginx.normalize.validating import read_tls, validate_ingress


def test_a_valid_ingress_is_handed_back_as_typed_records_with_their_field_paths() -> None:
    view = validate_ingress(manifest(valid_body())).view
    web = ServiceBackend("web", 80)
    prefix, exact, specific = PathType.PREFIX, PathType.EXACT, PathType.IMPLEMENTATION_SPECIFIC
    assert view == IngressView(
        "nginx",
        ServiceBackend("fallback", "http"),
        (
            Rule(
                "shop.example.com",
                (
                    HTTPPath("/", prefix, web, F_PATH0),
                    HTTPPath("/api", exact, web, "spec.rules[0].http.paths[1]"),
                    HTTPPath("/static", specific, web, "spec.rules[0].http.paths[2]"),
                ),
                "spec.rules[0]",
            ),
            Rule("*.example.com", (HTTPPath("/", prefix, web, "spec.rules[1].http.paths[0]"),),
                 "spec.rules[1]"),
            Rule("", (HTTPPath("/", prefix, web, "spec.rules[2].http.paths[0]"),), "spec.rules[2]"),
            Rule("only-a-host.example.com", (), "spec.rules[3]"),
        ),
        (TLSEntry(("shop.example.com", "*.example.com"), "shop-tls", "spec.tls[0]"),),
    )  # fmt: skip
    assert view.rules[0].paths[2].backend_field == "spec.rules[0].http.paths[2].backend"
    assert view.rule_hosts == ["shop.example.com", "*.example.com", "only-a-host.example.com"]


def test_an_invalid_ingress_has_no_view() -> None:
    validated = validate_ingress(manifest(changed((*PATH0, "path"), "no-slash")))
    assert validated.problems and validated.view is None


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ({"number": 8080}, 8080),
        ({"name": "http"}, "http"),
        ({"name": "", "number": 81}, 81),
        ({"name": "http", "number": None}, "http"),  # null is unset, as in the API
    ],
)
def test_a_backend_port_is_its_number_or_its_name(port: dict[str, Any], expected: Any) -> None:
    body = changed((*PATH0, "backend", "service", "port"), port)
    view = validate_ingress(manifest(body)).view
    assert view is not None
    assert view.rules[0].paths[0].backend.port == expected


def test_absent_optional_fields_are_their_zero_values() -> None:
    body = valid_body()
    body["spec"] = {
        "rules": [{"http": {"paths": [{"pathType": "ImplementationSpecific",
                                       "backend": {"service": {"name": "web",
                                                               "port": {"number": 80}}}}]}}],
        "tls": [{}],
    }  # fmt: skip
    view = validate_ingress(manifest(body)).view
    assert view is not None
    assert (view.ingress_class, view.default_backend) == (None, None)
    assert (view.rules[0].host, view.rules[0].paths[0].path) == ("", "")
    assert view.tls == (TLSEntry((), "", "spec.tls[0]"),)


def test_read_tls_reads_an_unvalidated_ingress_leaving_out_what_is_invalid() -> None:
    body = valid_body()
    body["spec"]["rules"] = "not a list"  # invalid elsewhere: the TLS entries are read still
    body["spec"]["tls"] = [
        {"hosts": ["ok.example.com", "Bad_Host", 7], "secretName": "shop-tls"},
        "not an object",
        {"hosts": ["two.example.com"], "secretName": "Not_A_Secret"},
        {"secretName": ""},
    ]
    assert validate_ingress(manifest(body)).view is None
    assert read_tls(manifest(body)) == (
        TLSEntry(("ok.example.com",), "shop-tls", "spec.tls[0]"),
        TLSEntry(("two.example.com",), "", "spec.tls[2]"),
        TLSEntry((), "", "spec.tls[3]"),
    )
    assert read_tls(Manifest("Ingress", "a", "b", {"spec": []}, "x")) == ()
