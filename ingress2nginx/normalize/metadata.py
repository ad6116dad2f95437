"""An Ingress's metadata checked as the API server checks it: name, namespace, annotations, labels.

Part of validating.py's walk: names must be what Kubernetes allows (they reach nginx.conf in
comments, upstream names and file names), annotation keys qualified names within 256 KiB in
all, the values this program reads free of refused characters, labels as the API allows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ingress2nginx.core.codes import Code
from ingress2nginx.core.grammar import (
    ANNOTATIONS_MAX_BYTES,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    refused_characters,
)
from ingress2nginx.normalize.fields import Report, json_type, keyed, unless_empty, utf8_length

READ_ANNOTATION_PREFIXES: Final = ("nginx.ingress.kubernetes.io/", "kubernetes.io/ingress.class")
"""Annotations this program reads; their values must pass `refused_characters`. Others are
never read, so only their type is checked: kubectl's own last-applied-configuration value
ends with a line feed, and refusing it would reject every Ingress applied with kubectl."""

SNIPPET_SUFFIX: Final = "-snippet"
"""Snippet annotations hold nginx text, so line feeds and tabs are allowed in their values
(whether snippets are used at all is decided by --allow-snippets, features/snippets.py)."""

SUBDOMAIN_REASON: Final = (
    "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit"
)
_LABEL_REASON: Final = (
    "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
    "starting and ending with a letter or digit"
)
_QUALIFIED_REASON: Final = (
    "key must be a qualified name: an optional DNS subdomain and '/', then at most 63 "
    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_LABEL_VALUE_REASON: Final = (
    "value must be at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)


def check_metadata(report: Report, metadata: Mapping[Any, Any]) -> None:
    """Report what is wrong with an Ingress's ``metadata``."""
    name = report.text("metadata.name", metadata.get("name"), Code.INVALID_NAME, required=True)
    if name is not None and not is_dns1123_subdomain(name):
        report.invalid("metadata.name", name, SUBDOMAIN_REASON, Code.INVALID_NAME)
    raw_namespace = unless_empty(metadata.get("namespace"))
    namespace = report.text("metadata.namespace", raw_namespace, Code.INVALID_NAMESPACE)
    if namespace is not None and not is_dns1123_label(namespace):
        report.invalid("metadata.namespace", namespace, _LABEL_REASON, Code.INVALID_NAMESPACE)
    report.text("metadata.uid", metadata.get("uid"), Code.INVALID_METADATA)
    _check_annotations(report, metadata.get("annotations"))
    _check_labels(report, metadata.get("labels"))


def _check_annotations(report: Report, raw: object) -> None:
    """Keys as the API server checks them (qualified names, compared in lowercase; 256 KiB in
    all). Values: strings; those of `READ_ANNOTATION_PREFIXES` pass `refused_characters`."""
    annotations = report.mapping("metadata.annotations", raw, Code.INVALID_ANNOTATION)
    size = 0
    for key, value in (annotations or {}).items():
        path = keyed("metadata.annotations", key)
        name = report.text(path, key, Code.INVALID_ANNOTATION)
        if name is not None and not is_qualified_name(name.lower()):
            report.invalid(path, name, _QUALIFIED_REASON, Code.INVALID_ANNOTATION)
        if not isinstance(value, str):
            reason = f"value must be a string, not {json_type(value)} (quote it in YAML)"
            report.add(path, reason, Code.INVALID_ANNOTATION)
            continue
        size += utf8_length(name or "") + utf8_length(value)
        if name is not None and name.startswith(READ_ANNOTATION_PREFIXES):
            _check_annotation_value(report, path, name, value)
    if size > ANNOTATIONS_MAX_BYTES:
        reason = f"must total at most {ANNOTATIONS_MAX_BYTES} bytes of keys and values"
        report.add("metadata.annotations", reason, Code.INVALID_ANNOTATION)


def _check_annotation_value(report: Report, path: str, name: str, value: str) -> None:
    snippet = name.endswith(SNIPPET_SUFFIX)
    refused = refused_characters(value.replace("\n", "").replace("\t", "") if snippet else value)
    if refused:
        report.invalid(path, value, f"value {refused}", Code.INVALID_CHARACTER)


def _check_labels(report: Report, raw: object) -> None:
    labels = report.mapping("metadata.labels", raw, Code.INVALID_LABEL)
    for key, value in (labels or {}).items():
        plain = type(key) is str and type(value) is str
        if plain and is_qualified_name(key) and is_label_value(value):
            continue  # most labels: valid, so free of refused characters too
        path = keyed("metadata.labels", key)
        name = report.text(path, key, Code.INVALID_LABEL)
        if name is not None and not is_qualified_name(name):
            report.invalid(path, name, _QUALIFIED_REASON, Code.INVALID_LABEL)
        text = report.text(path, value, Code.INVALID_LABEL)
        if text is not None and not is_label_value(text):
            report.invalid(path, text, _LABEL_VALUE_REASON, Code.INVALID_LABEL)
