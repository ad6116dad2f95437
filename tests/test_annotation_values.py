"""Allowlist edges of single annotations, read through the registry as the normalizer does, and
what an invalid value does (the policy each annotation declares, `OnInvalid`)."""

from __future__ import annotations

from typing import Any

import pytest

from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import DEFAULT_OPTIONS, REGISTRY, IngressOptions, read_options
from ingress2nginx.features.base import PREFIX, AnnotationValueError, Invalid, OnInvalid


def parsed(name: str, value: str) -> Any:
    parse = REGISTRY[name].parse
    assert parse is not None
    return parse(value)


def test_server_alias_names_each_alias_once() -> None:
    assert parsed("server-alias", "a.test, b.test,a.test") == ("a.test", "b.test")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit-connections", "65536"),  # nginx: "connection limit must be less 65536"
        ("proxy-max-temp-file-size", "1g"),  # a size: nginx reads no g there
        ("proxy-buffer-size", "1g"),
    ],
)
def test_values_nginx_would_refuse_are_outside_the_allowlist(name: str, value: str) -> None:
    with pytest.raises(AnnotationValueError):
        parsed(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit-connections", "65535"), ("proxy-max-temp-file-size", "1024m"),
     ("proxy-body-size", "1g"), ("limit-burst-multiplier", "0")],
)  # fmt: skip
def test_values_nginx_takes_are_inside_the_allowlist(name: str, value: str) -> None:
    parsed(name, value)


# --------------------------------------------------------------------------- invalid values


def ingress_with(**annotations: str) -> Manifest:
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "annotations": {PREFIX + name: value for name, value in annotations.items()},
        },
        "spec": {},
    }
    return Manifest("Ingress", "shop", "web", body, "test.yaml")


def read(name: str, value: str) -> tuple[IngressOptions, list[Problem]]:
    return read_options(ingress_with(**{name: value}))


@pytest.mark.parametrize(
    ("name", "value", "group", "attribute"),
    [
        ("proxy-read-timeout", "ten", "proxy", "read_timeout"),
        ("proxy-body-size", "15r", "proxy", "body_size"),
        ("proxy-connect-timeout", "50k", "proxy", "connect_timeout"),
        ("proxy-send-timeout", "50k", "proxy", "send_timeout"),
        ("client-body-buffer-size", "1b", "proxy", "client_body_buffer_size"),
        ("x-forwarded-prefix", "", "rewrite", "x_forwarded_prefix"),
        ("cors-allow-origin", "", "cors", "allow_origin"),
        ("cors-allow-origin", " , ", "cors", "allow_origin"),
        ("proxy-next-upstream-tries", "888888", "proxy", "next_upstream_tries"),
        ("canary", "yes please", "canary", "enabled"),
        ("rewrite-target", "/$host", "rewrite", "target"),
    ],
)
def test_an_invalid_value_is_ignored_with_a_warning_naming_it_and_the_default_applies(
    name: str, value: str, group: str, attribute: str
) -> None:
    assert REGISTRY[name].on_invalid is OnInvalid.IGNORE
    options, problems = read(name, value)
    assert getattr(getattr(options, group), attribute) == getattr(
        getattr(DEFAULT_OPTIONS, group), attribute
    )
    assert [(p.severity, p.field) for p in problems] == [
        (Severity.WARNING, f"metadata.annotations[{PREFIX}{name}]")
    ]
    assert problems[0].reason.startswith(f"invalid value {shown(value)}: ")
    assert problems[0].reason.endswith("; ignored, the default applies")


def test_a_cors_origin_without_scheme_is_dropped_and_the_rest_kept() -> None:
    options, problems = read("cors-allow-origin", "example.com, https://ok.test, null")
    assert options.cors.allow_origin == ("https://ok.test", "null")
    assert [(p.severity, p.code) for p in problems] == [(Severity.WARNING, "invalid-annotation")]
    assert "'example.com' dropped" in problems[0].reason
    assert "the others are kept" in problems[0].reason


def test_when_every_origin_is_dropped_none_is_allowed_never_every_one() -> None:
    options, problems = read("cors-allow-origin", "example.com, ftp//x")
    assert options.cors.allow_origin == ()
    assert not options.cors.any_origin
    assert "no Origin is allowed" in problems[0].reason


def test_a_valid_origin_list_is_read_without_a_warning() -> None:
    options, problems = read("cors-allow-origin", "https://a.test, https://*.b.test:8443")
    assert options.cors.allow_origin == ("https://a.test", "https://*.b.test:8443")
    assert problems == []


@pytest.mark.parametrize(
    "name", ["canary-by-cookie", "canary_user", "Canary-By-Cookie", "a.b~c:d/e", " spaced "]
)
def test_canary_by_cookie_takes_the_cookie_names_ingress_nginx_takes(name: str) -> None:
    options, problems = read("canary-by-cookie", name)
    assert options.canary.cookie == name.replace(" ", "")
    assert problems == []


@pytest.mark.parametrize("name", ["a;b", "a=b", '"x"', "$cookie", "a,b"])
def test_canary_by_cookie_refuses_what_could_end_the_cookie_name(name: str) -> None:
    with pytest.raises(AnnotationValueError):
        parsed("canary-by-cookie", name)


@pytest.mark.parametrize(
    "url",
    [
        "https://invalid..auth.url",
        "https://-auth.test/",
        "https://auth-.test/",
        "https://.a.test",
        "https://auth.test:99999/",
        "https://auth.test:0/",
    ],
)
def test_an_auth_url_whose_host_is_no_dns_name_is_invalid(url: str) -> None:
    with pytest.raises(AnnotationValueError):
        parsed("auth-url", url)


@pytest.mark.parametrize(
    "url", ["https://auth.test/check", "http://10.0.0.1:9000/", "https://$host/oauth2/auth"]
)
def test_an_auth_url_with_a_dns_name_ip_or_host_variable_is_valid(url: str) -> None:
    parsed("auth-url", url)


@pytest.mark.parametrize(
    ("name", "value", "group", "attribute"),
    [
        ("auth-url", "https://invalid..auth.url", "external_auth", "url"),
        ("auth-type", "digest", "auth", "type"),
        ("whitelist-source-range", "10.0.0.0/8, 10.0.0.0/33", "access", "whitelist"),
        ("allowlist-source-range", "everyone", "access", "allowlist"),
        ("denylist-source-range", "fe80::1%eth0", "access", "denylist"),
        ("auth-tls-verify-depth", "deep", "client_tls", "depth"),
        ("proxy-ssl-protocols", "SSLv3", "backend_tls", "protocols"),
    ],
)
def test_an_invalid_security_value_is_kept_as_a_marker_that_denies_the_paths(
    name: str, value: str, group: str, attribute: str
) -> None:
    assert REGISTRY[name].on_invalid is OnInvalid.DENY
    options, problems = read(name, value)
    marker = getattr(getattr(options, group), attribute)
    assert isinstance(marker, Invalid)
    assert marker.value == value
    assert problems == []  # reported by the feature, when it denies (test_references.py)


def test_an_invalid_source_range_denies_every_path_with_an_error_naming_it() -> None:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.features.secured import denial
    from ingress2nginx.normalize.references import resolve_references

    ingress = ingress_with(**{"whitelist-source-range": "127.0.0.1, 10.0.0.0/33"})
    options, _ = read_options(ingress)
    problems: list[Problem] = []
    resolved = resolve_references(ingress, options, {}, Settings(), problems)
    assert denial(resolved) is not None
    assert resolved.access.source_ranges == ()  # no allow line is written from it
    assert [(p.severity, p.field, p.code) for p in problems] == [
        (Severity.ERROR, f"metadata.annotations[{PREFIX}whitelist-source-range]", "access-denied")
    ]
    assert "'10.0.0.0/33' is not an IP address or CIDR range" in problems[0].reason


# --------------------------------------------------------------------------- the policy table

SECURITY_RELEVANT = (
    "auth-",
    "proxy-ssl-",
    "allowlist-source-range",
    "whitelist-source-range",
    "denylist-source-range",
)
"""Annotations whose invalid value must never be ignored: ignoring it would leave the paths
less protected than asked for (authentication, certificates, who may connect)."""


def test_every_security_relevant_annotation_denies_on_an_invalid_value() -> None:
    """Snippets (auth-snippet included) are the exception: a refused snippet is left out with
    a warning, which adds nothing to the paths and takes no protection away."""
    for name, annotation in REGISTRY.items():
        if name.endswith("-snippet"):
            continue
        if annotation.parse is not None and name.startswith(SECURITY_RELEVANT):
            assert annotation.on_invalid is OnInvalid.DENY, name


def test_every_other_annotation_is_ignored_on_an_invalid_value_as_ingress_nginx_does() -> None:
    for name, annotation in REGISTRY.items():
        if annotation.parse is not None and not name.startswith(SECURITY_RELEVANT):
            assert annotation.on_invalid is OnInvalid.IGNORE, name


def test_no_invalid_value_rejects_the_ingress() -> None:
    """Whatever the value (nginx's metacharacters included), reading annotations never gives
    an error: the Ingress is served, its paths at worst denied."""
    for name in REGISTRY:
        for value in ("!", "{", "x; include /etc/passwd;", "", "-1", "$host"):
            _, problems = read(name, value)
            assert all(p.severity < Severity.ERROR for p in problems), (name, value)


def test_an_invalid_auth_method_without_auth_url_denies_nothing_and_says_so() -> None:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.features.secured import denial
    from ingress2nginx.normalize.references import resolve_references

    ingress = ingress_with(**{"auth-method": "FETCH"})
    options, _ = read_options(ingress)
    problems: list[Problem] = []
    resolved = resolve_references(ingress, options, {}, Settings(), problems)
    assert denial(resolved) is None
    assert [(p.severity, p.field, p.reason) for p in problems] == [
        (
            Severity.WARNING,
            f"metadata.annotations[{PREFIX}auth-method]",
            "has no effect without auth-url",
        )
    ]
