"""docs/annotations.md is generated from the annotation registry and must not be stale."""

from __future__ import annotations

from ingress2nginx.features import REGISTRY, Support
from ingress2nginx.features.matrix import DOCUMENT, render


def test_the_committed_support_matrix_matches_the_code() -> None:
    assert DOCUMENT.read_text() == render(), (
        "docs/annotations.md is stale: run python -m ingress2nginx.features.matrix"
    )


def test_every_annotation_that_is_not_refused_has_a_parser_and_an_option() -> None:
    for name, annotation in REGISTRY.items():
        if annotation.support is Support.REFUSED:
            assert annotation.parse is None, name
            assert annotation.difference, f"{name}: a refusal must say why"
        else:
            assert annotation.parse is not None, name
            assert annotation.field.count(".") == 1, name


def test_partly_supported_annotations_say_what_differs() -> None:
    for name, annotation in REGISTRY.items():
        if annotation.support is Support.PARTLY:
            assert annotation.difference, name
