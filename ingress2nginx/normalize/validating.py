"""The Kubernetes API server's Ingress validation, redone for manifests that never met one.

Objects read from files (or a hostile stdin) skipped the API server, so nothing has checked
them; and what reaches nginx.conf must not be able to add a directive, a block or a file read
(ingress-nginx had a series of config-injection CVEs). `validate_ingress` walks one
Ingress whose fields may hold any JSON type and reports every problem with the field path the
API server would print; it never raises. The rules themselves live in grammar.py (names,
hosts, characters) and paths.py (paths, regex paths).

Problem codes: ``invalid-metadata``, ``invalid-name``, ``invalid-namespace``,
``invalid-annotation``, ``invalid-label``, ``invalid-character``, ``invalid-spec``, ``no-rules``,
``invalid-class``, ``invalid-rule``, ``invalid-host``, ``no-paths``, ``invalid-path-type``,
``invalid-path``, ``invalid-backend``, ``invalid-port``, ``invalid-tls``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity, shown
from ingress2nginx.core.grammar import (
    ANNOTATIONS_MAX_BYTES,
    host_problem,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_port_name,
    is_qualified_name,
    refused_characters,
)
from ingress2nginx.core.objects import Manifest
from ingress2nginx.normalize.paths import (
    IMPLEMENTATION_SPECIFIC,
    PATH_TYPES,
    path_problem,
    regex_path_problem,
)

__all__ = ["validate_ingress"]

# --- One Ingress -------------------------------------------------------------------------------

READ_ANNOTATION_PREFIXES: Final = ("nginx.ingress.kubernetes.io/", "kubernetes.io/ingress.class")
"""Annotations this program reads; their values must pass `refused_characters`. Others are
never read, so only their type is checked: kubectl's own last-applied-configuration value
ends with a line feed, and refusing it would reject every Ingress applied with kubectl."""

SNIPPET_SUFFIX: Final = "-snippet"
"""Snippet annotations hold nginx text, so line feeds and tabs are allowed in their values
(whether snippets are used at all is decided by --allow-snippets, features/snippets.py)."""

_SAFE_KEY = re.compile(r"[A-Za-z0-9._/-]{1,253}")


_NO_RULES: Final = "either spec.defaultBackend or spec.rules must be specified"
_LEGACY_BACKEND: Final = (
    ": serviceName and servicePort are networking.k8s.io/v1beta1 fields; in"
    " networking.k8s.io/v1 a backend is service: {name: NAME, port: {number: N}}"
)
_SUBDOMAIN_REASON: Final = (
    "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit"
)
_LABEL_REASON: Final = (
    "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
    "starting and ending with a letter or digit"
)
_SERVICE_NAME_REASON: Final = (
    "must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit"
)
_QUALIFIED_REASON: Final = (
    "key must be a qualified name: an optional DNS subdomain and '/', then at most 63 "
    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_LABEL_VALUE_REASON: Final = (
    "value must be at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)
_PORT_NAME_REASON: Final = (
    "must be an IANA service name: 1-15 lowercase letters, digits and '-', "
    "with at least one letter, no '--', not starting or ending with '-'"
)


@dataclass(slots=True)
class _Report:
    """Problems of one Ingress, and readers that take a field whatever its JSON type."""

    ref: ObjectRef
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, reason: str, code: Code) -> None:
        self.problems.append(Problem(Severity.ERROR, self.ref, path, reason, code))

    def invalid(self, path: str, value: object, reason: str, code: Code) -> None:
        self.add(path, f"{reason} (got {shown(value)})", code)

    def mapping(self, path: str, value: object, code: Code) -> Mapping[Any, Any] | None:
        """`value` if it is an object; None when absent, or after reporting its wrong type."""
        if value is None or isinstance(value, Mapping):
            return value
        self.add(path, f"must be an object, not {_json_type(value)}", code)
        return None

    def entry(self, path: str, value: object, code: Code) -> Mapping[Any, Any] | None:
        """A list item that must be an object: null is reported too."""
        if value is None:
            self.add(path, "must be an object, not null", code)
        return self.mapping(path, value, code)

    def sequence(self, path: str, value: object, code: Code) -> list[Any] | None:
        """`value` if it is a list; [] when absent; None after reporting its wrong type."""
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return list(value)
        self.add(path, f"must be a list, not {_json_type(value)}", code)
        return None

    def text(self, path: str, value: object, code: Code, *, required: bool = False) -> str | None:
        """`value` if it is a string free of refused characters; None otherwise, reported
        unless it is absent and optional. With `required`, '' counts as absent."""
        if value is None or (required and value == ""):
            if required:
                self.add(path, "is required", code)
            return None
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_json_type(value)}", code)
            return None
        refused = refused_characters(value)
        if refused:
            self.invalid(path, value, refused, Code.INVALID_CHARACTER)
            return None
        return value


def validate_ingress(manifest: Manifest) -> list[Problem]:
    """Every problem the API server (and this program's stricter rules) would find in one
    Ingress already converted to networking.k8s.io/v1 (sources/converting.py), each with its field
    path. Never raises, whatever JSON types the body holds.
    """
    report = _Report(manifest.ref)
    body = manifest.body if isinstance(manifest.body, Mapping) else {}
    metadata = report.mapping("metadata", body.get("metadata"), Code.INVALID_METADATA)
    if metadata is not None or body.get("metadata") is None:
        _check_metadata(report, metadata or {})
    if body.get("spec") is None:
        report.add("spec", _NO_RULES, Code.NO_RULES)
    spec = report.mapping("spec", body.get("spec"), Code.INVALID_SPEC)
    if spec is not None:
        _check_spec(report, spec)
    return report.problems


def _check_metadata(report: _Report, metadata: Mapping[Any, Any]) -> None:
    name = report.text("metadata.name", metadata.get("name"), Code.INVALID_NAME, required=True)
    if name is not None and not is_dns1123_subdomain(name):
        report.invalid("metadata.name", name, _SUBDOMAIN_REASON, Code.INVALID_NAME)
    raw_namespace = _unless_empty(metadata.get("namespace"))
    namespace = report.text("metadata.namespace", raw_namespace, Code.INVALID_NAMESPACE)
    if namespace is not None and not is_dns1123_label(namespace):
        report.invalid("metadata.namespace", namespace, _LABEL_REASON, Code.INVALID_NAMESPACE)
    report.text("metadata.uid", metadata.get("uid"), Code.INVALID_METADATA)
    _check_annotations(report, metadata.get("annotations"))
    _check_labels(report, metadata.get("labels"))


def _check_annotations(report: _Report, raw: object) -> None:
    """Keys as the API server checks them (qualified names, compared in lowercase; 256 KiB in
    all). Values: strings; those of `READ_ANNOTATION_PREFIXES` pass `refused_characters`."""
    annotations = report.mapping("metadata.annotations", raw, Code.INVALID_ANNOTATION)
    size = 0
    for key, value in (annotations or {}).items():
        path = _keyed("metadata.annotations", key)
        name = report.text(path, key, Code.INVALID_ANNOTATION)
        if name is not None and not is_qualified_name(name.lower()):
            report.invalid(path, name, _QUALIFIED_REASON, Code.INVALID_ANNOTATION)
        if not isinstance(value, str):
            reason = f"value must be a string, not {_json_type(value)} (quote it in YAML)"
            report.add(path, reason, Code.INVALID_ANNOTATION)
            continue
        size += _utf8_length(name or "") + _utf8_length(value)
        if name is not None and name.startswith(READ_ANNOTATION_PREFIXES):
            _check_annotation_value(report, path, name, value)
    if size > ANNOTATIONS_MAX_BYTES:
        reason = f"must total at most {ANNOTATIONS_MAX_BYTES} bytes of keys and values"
        report.add("metadata.annotations", reason, Code.INVALID_ANNOTATION)


def _check_annotation_value(report: _Report, path: str, name: str, value: str) -> None:
    snippet = name.endswith(SNIPPET_SUFFIX)
    refused = refused_characters(value.replace("\n", "").replace("\t", "") if snippet else value)
    if refused:
        report.invalid(path, value, f"value {refused}", Code.INVALID_CHARACTER)


def _check_labels(report: _Report, raw: object) -> None:
    labels = report.mapping("metadata.labels", raw, Code.INVALID_LABEL)
    for key, value in (labels or {}).items():
        path = _keyed("metadata.labels", key)
        name = report.text(path, key, Code.INVALID_LABEL)
        if name is not None and not is_qualified_name(name):
            report.invalid(path, name, _QUALIFIED_REASON, Code.INVALID_LABEL)
        text = report.text(path, value, Code.INVALID_LABEL)
        if text is not None and not is_label_value(text):
            report.invalid(path, text, _LABEL_VALUE_REASON, Code.INVALID_LABEL)


def _check_spec(report: _Report, spec: Mapping[Any, Any]) -> None:
    class_name = report.text(
        "spec.ingressClassName", spec.get("ingressClassName"), Code.INVALID_CLASS
    )
    if class_name is not None and not is_dns1123_subdomain(class_name):
        report.invalid("spec.ingressClassName", class_name, _SUBDOMAIN_REASON, Code.INVALID_CLASS)
    default_backend = spec.get("defaultBackend")
    if default_backend is not None:
        _check_backend(report, "spec.defaultBackend", default_backend)
    rules = report.sequence("spec.rules", spec.get("rules"), Code.INVALID_RULE)
    if rules == [] and default_backend is None:
        report.add("spec", _NO_RULES, Code.NO_RULES)
    for index, rule in enumerate(rules or []):
        _check_rule(report, f"spec.rules[{index}]", rule)
    tls = report.sequence("spec.tls", spec.get("tls"), Code.INVALID_TLS)
    for index, entry in enumerate(tls or []):
        _check_tls(report, f"spec.tls[{index}]", entry)


def _check_rule(report: _Report, path: str, raw: object) -> None:
    """A rule may hold a host, http paths, both or neither (the API allows a host alone)."""
    rule = report.entry(path, raw, Code.INVALID_RULE)
    if rule is None:
        return
    host = report.text(f"{path}.host", _unless_empty(rule.get("host")), Code.INVALID_HOST)
    if host is not None:
        _check_host(report, f"{path}.host", host, Code.INVALID_HOST)
    http = report.mapping(f"{path}.http", rule.get("http"), Code.INVALID_RULE)
    if http is None:
        return
    paths = report.sequence(f"{path}.http.paths", http.get("paths"), Code.INVALID_RULE)
    if paths == []:
        report.add(f"{path}.http.paths", "is required: list at least one path", Code.NO_PATHS)
    for index, entry in enumerate(paths or []):
        _check_http_path(report, f"{path}.http.paths[{index}]", entry)


def _check_host(report: _Report, path: str, host: str, code: Code) -> None:
    problem = host_problem(host)
    if problem:
        report.invalid(path, host, problem, code)


def _check_http_path(report: _Report, path: str, raw: object) -> None:
    entry = report.entry(path, raw, Code.INVALID_PATH)
    if entry is None:
        return
    path_type = _check_path_type(report, f"{path}.pathType", entry.get("pathType"))
    raw_value = entry.get("path")
    value = report.text(f"{path}.path", "" if raw_value is None else raw_value, Code.INVALID_PATH)
    if path_type is not None and value is not None:
        _check_path_value(report, f"{path}.path", value, path_type)
    backend = entry.get("backend")
    if backend is None:
        report.add(f"{path}.backend", "is required", Code.INVALID_BACKEND)
    else:
        _check_backend(report, f"{path}.backend", backend)


def _check_path_type(report: _Report, path: str, raw: object) -> str | None:
    if raw is None:
        report.add(path, f"is required: one of {', '.join(PATH_TYPES)}", Code.INVALID_PATH_TYPE)
        return None
    path_type = report.text(path, raw, Code.INVALID_PATH_TYPE)
    if path_type is not None and path_type not in PATH_TYPES:
        reason = f"must be one of {', '.join(PATH_TYPES)}"
        report.invalid(path, path_type, reason, Code.INVALID_PATH_TYPE)
        return None
    return path_type


def _check_path_value(report: _Report, path: str, value: str, path_type: str) -> None:
    """Exact and Prefix paths are literal. An ImplementationSpecific path is literal or, on
    hosts that use regex, a regex — decided later, by the normalizer, which must check it again
    with `path_problem` or `regex_path_problem`. Here it must pass as at least one of them."""
    problem = path_problem(value, path_type)
    if problem is None:
        return
    if path_type == IMPLEMENTATION_SPECIFIC and value.startswith("/"):
        as_regex = regex_path_problem(value)
        if as_regex is None:
            return
        problem = f"{problem}; as a regular expression: {as_regex}"
    report.invalid(path, value, problem, Code.INVALID_PATH)


def _check_backend(report: _Report, path: str, raw: object) -> None:
    backend = report.mapping(path, raw, Code.INVALID_BACKEND)
    if backend is None:
        return
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        report.add(path, "must set exactly one of service and resource", Code.INVALID_BACKEND)
    elif service is None and resource is None:
        legacy = "serviceName" in backend or "servicePort" in backend
        reason = "must set service" + (_LEGACY_BACKEND if legacy else "")
        report.add(path, reason, Code.INVALID_BACKEND)
    if resource is not None:
        report.add(f"{path}.resource", "resource backends are not supported", Code.INVALID_BACKEND)
    if service is not None:
        _check_service(report, f"{path}.service", service)


def _check_service(report: _Report, path: str, raw: object) -> None:
    service = report.mapping(path, raw, Code.INVALID_BACKEND)
    if service is None:
        return
    name = report.text(f"{path}.name", service.get("name"), Code.INVALID_BACKEND, required=True)
    if name is not None and not is_dns1035_label(name):
        report.invalid(f"{path}.name", name, _SERVICE_NAME_REASON, Code.INVALID_BACKEND)
    if service.get("port") is None:
        report.add(f"{path}.port", "is required: set port.name or port.number", Code.INVALID_PORT)
    port = report.mapping(f"{path}.port", service.get("port"), Code.INVALID_PORT)
    if port is not None:
        _check_service_port(report, f"{path}.port", port)


def _check_service_port(report: _Report, path: str, port: Mapping[Any, Any]) -> None:
    """Exactly one of name and number. Like the API server, an empty name counts as unset;
    unlike it, number 0 is reported as out of range rather than taken as unset."""
    name, number = _unless_empty(port.get("name")), port.get("number")
    if name is not None and number is not None:
        report.add(path, "must set exactly one of name and number", Code.INVALID_PORT)
    elif name is None and number is None:
        report.add(path, "must set name or number", Code.INVALID_PORT)
    text = report.text(f"{path}.name", name, Code.INVALID_PORT)
    if text is not None and not is_port_name(text):
        report.invalid(f"{path}.name", text, _PORT_NAME_REASON, Code.INVALID_PORT)
    if number is not None:
        _check_port_number(report, f"{path}.number", number)


def _check_port_number(report: _Report, path: str, number: object) -> None:
    """An integer (JSON true is not one, nor is "80" or 80.0) between 1 and 65535."""
    if isinstance(number, bool) or not isinstance(number, int):
        report.add(path, f"must be an integer, not {_json_type(number)}", Code.INVALID_PORT)
    elif not 1 <= number <= 65535:
        report.invalid(path, number, "must be between 1 and 65535", Code.INVALID_PORT)


def _check_tls(report: _Report, path: str, raw: object) -> None:
    """Hosts follow `host_problem`; secretName, when set, is a Secret name."""
    entry = report.entry(path, raw, Code.INVALID_TLS)
    if entry is None:
        return
    hosts = report.sequence(f"{path}.hosts", entry.get("hosts"), Code.INVALID_TLS)
    for index, raw_host in enumerate(hosts or []):
        host_path = f"{path}.hosts[{index}]"
        host = report.text(host_path, raw_host, Code.INVALID_TLS, required=True)
        if host is not None:
            _check_host(report, host_path, host, Code.INVALID_TLS)
    raw_secret = _unless_empty(entry.get("secretName"))
    secret = report.text(f"{path}.secretName", raw_secret, Code.INVALID_TLS)
    if secret is not None and not is_dns1123_subdomain(secret):
        report.invalid(f"{path}.secretName", secret, _SUBDOMAIN_REASON, Code.INVALID_TLS)


def _unless_empty(value: object) -> object:
    """None for '' (Go's zero value: the API server treats an empty string as unset)."""
    return None if isinstance(value, str) and value == "" else value


def _keyed(path: str, key: object) -> str:
    """``path[key]`` as the API server writes a map entry; an unusual key is quoted and
    escaped, so it cannot garble the message."""
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key):
        return f"{path}[{key}]"
    return f"{path}[{shown(key)}]"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
