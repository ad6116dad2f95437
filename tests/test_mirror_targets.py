"""mirror-target accepts the forms ingress-nginx documents (a URL, optionally ending in
$request_uri) and nothing else that nginx could expand or split."""

from __future__ import annotations

import pytest

from ingress2nginx.features.base import AnnotationValueError
from ingress2nginx.features.mirror import MirrorOptions, mirror_target, pass_target


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("https://test.env.example$request_uri", "https://test.env.example$request_uri"),
        ("https://1.2.3.4$request_uri", "https://1.2.3.4$request_uri"),
        ("http://Mirror.Example:8080/copy", "http://mirror.example:8080/copy$is_args$args"),
        ("http://mirror.example", "http://mirror.example/$is_args$args"),
        ("http://[2001:db8::1]:81/p$request_uri", "http://[2001:db8::1]:81/p$request_uri"),
    ],
)
def test_documented_targets_become_a_proxy_pass_with_a_variable(value: str, written: str) -> None:
    assert pass_target(mirror_target(value)) == written


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/$host",
        "https://evil.example$request_uri?x=1",
        "https://evil.example/?q=1",
        "https://evil.example/#frag",
        "https://evil.example:0/",
        "https://evil.example:70000/",
        "https://evil..example/",
        "https://[not-ipv6]/",
        "//evil.example/",
        "https://evil.example//double",
        "https://evil.example/a;b",
        'https://evil.example/"',
        "https://evil.example/{}",
    ],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(AnnotationValueError):
        mirror_target(value)


def test_the_host_header_defaults_to_the_target_host_without_port() -> None:
    options = MirrorOptions(target=mirror_target("http://[2001:db8::1]:81$request_uri"))
    assert options.host_header == "2001:db8::1"
    assert MirrorOptions(target=mirror_target("https://a.example:8443/")).host_header == (
        "a.example"
    )


def test_different_mirrors_get_different_internal_locations() -> None:
    target = mirror_target("https://a.example$request_uri")
    names = {
        MirrorOptions(target=target).location,
        MirrorOptions(target=target, request_body="off").location,
        MirrorOptions(target=target, host="b.example").location,
    }
    assert len(names) == 3
    assert all(name.startswith("/%mirror-") for name in names)
