"""Allowlist edges of single annotations, read through the registry as the normalizer does."""

from __future__ import annotations

from typing import Any

import pytest

from ingress2nginx.annotations import REGISTRY
from ingress2nginx.annotations.base import AnnotationValueError


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
