"""The Kubernetes API server's Ingress validation, redone for manifests that never met one.

Objects read from files (or a hostile stdin) skipped the API server, so nothing has checked
them; and what reaches nginx.conf must not be able to add a directive, a block or a file read
(ingress-nginx had a series of config-injection CVEs). `validate_ingress` walks one
Ingress whose fields may hold any JSON type and reports every problem with the field path the
API server would print; it never raises. When it finds none, it hands back the Ingress as a
typed `IngressView` (ingress_view.py), which is all that later stages read of its spec. The
rules themselves live in grammar.py (names, hosts, characters) and paths.py (paths, regex
paths); metadata.py checks the metadata, fields.py reads fields of any JSON type.

Problem codes: ``invalid-metadata``, ``invalid-name``, ``invalid-namespace``,
``invalid-annotation``, ``invalid-label``, ``invalid-character``, ``invalid-spec``, ``no-rules``,
``invalid-class``, ``invalid-rule``, ``invalid-host``, ``no-paths``, ``invalid-path-type``,
``invalid-path``, ``invalid-backend``, ``invalid-port``, ``invalid-tls``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem
from ingress2nginx.core.grammar import (
    host_problem,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_port_name,
)
from ingress2nginx.core.objects import Manifest
from ingress2nginx.model import PathType
from ingress2nginx.normalize.fields import Report, json_type, unless_empty
from ingress2nginx.normalize.ingress_view import (
    DEFAULT_BACKEND_FIELD,
    HTTPPath,
    IngressView,
    Rule,
    ServiceBackend,
    TLSEntry,
)
from ingress2nginx.normalize.metadata import SUBDOMAIN_REASON, check_metadata
from ingress2nginx.normalize.paths import (
    IMPLEMENTATION_SPECIFIC,
    PATH_TYPES,
    path_problem,
    regex_path_problem,
)

__all__ = ["Validated", "read_tls", "validate_ingress"]

_NO_RULES: Final = "either spec.defaultBackend or spec.rules must be specified"
_LEGACY_BACKEND: Final = (
    ": serviceName and servicePort are networking.k8s.io/v1beta1 fields; in"
    " networking.k8s.io/v1 a backend is service: {name: NAME, port: {number: N}}"
)
_SERVICE_NAME_REASON: Final = (
    "must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit"
)
_PORT_NAME_REASON: Final = (
    "must be an IANA service name: 1-15 lowercase letters, digits and '-', "
    "with at least one letter, no '--', not starting or ending with '-'"
)

_PATH_TYPES: Final = {path_type.value: path_type for path_type in PathType}
"""Each pathType by its name (faster than calling the enum, once per path)."""


@functools.lru_cache(maxsize=4096)
def _item(path: str, index: int) -> str:
    """``path[index]``, one string for every Ingress: the field paths a view keeps (and every
    `Origin` made from them) are the same few strings (``spec.rules[0].http.paths[0]``), kept
    once however many Ingresses use them."""
    return f"{path}[{index}]"


@dataclass(frozen=True, slots=True)
class Validated:
    """What validating one Ingress found."""

    problems: list[Problem]
    """Every problem, each an error with its field path; empty for a valid Ingress."""
    view: IngressView | None
    """The Ingress's spec as typed records; None unless `problems` is empty."""


def validate_ingress(manifest: Manifest) -> Validated:
    """Every problem the API server (and this program's stricter rules) would find in one
    Ingress already converted to networking.k8s.io/v1 (sources/converting.py), each with its field
    path, and the Ingress as a typed view when there is none. Never raises, whatever JSON types
    the body holds.
    """
    report = Report(manifest.ref)
    body = manifest.body if isinstance(manifest.body, Mapping) else {}
    metadata = report.mapping("metadata", body.get("metadata"), Code.INVALID_METADATA)
    if metadata is not None or body.get("metadata") is None:
        check_metadata(report, metadata or {})
    if body.get("spec") is None:
        report.add("spec", _NO_RULES, Code.NO_RULES)
    spec = report.mapping("spec", body.get("spec"), Code.INVALID_SPEC)
    view = _check_spec(report, spec) if spec is not None else None
    return Validated(report.problems, None if report.problems else view)


def read_tls(manifest: Manifest) -> tuple[TLSEntry, ...]:
    """The ``spec.tls`` entries of an Ingress not validated (yet), read as validation reads
    them, less what is invalid: an entry that is not an object, a host or a secretName that
    is not valid. For a reader that looks at Ingresses before validation does (the Secrets to
    fetch from the cluster, cluster/loading.py)."""
    body = manifest.body if isinstance(manifest.body, Mapping) else {}
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        return ()
    report = Report(manifest.ref)
    raw_tls = report.sequence("spec.tls", spec.get("tls"), Code.INVALID_TLS)
    tls = [
        _check_tls(report, _item("spec.tls", index), raw) for index, raw in enumerate(raw_tls or [])
    ]
    return tuple(filter(None, tls))


def _check_spec(report: Report, spec: Mapping[Any, Any]) -> IngressView:
    class_name = report.text(
        "spec.ingressClassName", spec.get("ingressClassName"), Code.INVALID_CLASS
    )
    if class_name is not None and not is_dns1123_subdomain(class_name):
        report.invalid("spec.ingressClassName", class_name, SUBDOMAIN_REASON, Code.INVALID_CLASS)
    raw_default = spec.get("defaultBackend")
    default_backend = None
    if raw_default is not None:
        default_backend = _check_backend(report, DEFAULT_BACKEND_FIELD, raw_default)
    raw_rules = report.sequence("spec.rules", spec.get("rules"), Code.INVALID_RULE)
    if raw_rules == [] and raw_default is None:
        report.add("spec", _NO_RULES, Code.NO_RULES)
    rules = [
        _check_rule(report, _item("spec.rules", index), rule)
        for index, rule in enumerate(raw_rules or [])
    ]
    raw_tls = report.sequence("spec.tls", spec.get("tls"), Code.INVALID_TLS)
    tls = [
        _check_tls(report, _item("spec.tls", index), raw) for index, raw in enumerate(raw_tls or [])
    ]
    return IngressView(
        class_name,
        default_backend,
        tuple(filter(None, rules)),
        tuple(filter(None, tls)),
    )


def _check_rule(report: Report, path: str, raw: object) -> Rule | None:
    """A rule may hold a host, http paths, both or neither (the API allows a host alone)."""
    rule = report.entry(path, raw, Code.INVALID_RULE)
    if rule is None:
        return None
    host = unless_empty(rule.get("host"))
    if type(host) is not str or host_problem(host) is not None:  # (else valid, and printable)
        host = report.text(f"{path}.host", host, Code.INVALID_HOST)
        if host is not None:
            _check_host(report, f"{path}.host", host, Code.INVALID_HOST)
    http = report.mapping(f"{path}.http", rule.get("http"), Code.INVALID_RULE)
    if http is None:
        return Rule(host or "", (), path)
    paths_field = f"{path}.http.paths"
    paths = report.sequence(paths_field, http.get("paths"), Code.INVALID_RULE)
    if paths == []:
        report.add(paths_field, "is required: list at least one path", Code.NO_PATHS)
    checked = [
        _check_http_path(report, _item(paths_field, index), entry)
        for index, entry in enumerate(paths or [])
    ]
    return Rule(host or "", tuple(filter(None, checked)), path)


def _check_host(report: Report, path: str, host: str, code: Code) -> bool:
    problem = host_problem(host)
    if problem:
        report.invalid(path, host, problem, code)
    return not problem


def _check_http_path(report: Report, path: str, raw: object) -> HTTPPath | None:
    if type(raw) is dict:
        plain = _plain_http_path(path, raw)
        if plain is not None:
            return plain
    entry = report.entry(path, raw, Code.INVALID_PATH)
    if entry is None:
        return None
    path_type = _check_path_type(report, f"{path}.pathType", entry.get("pathType"))
    raw_value = entry.get("path")
    value = report.text(f"{path}.path", "" if raw_value is None else raw_value, Code.INVALID_PATH)
    if path_type is not None and value is not None:
        _check_path_value(report, f"{path}.path", value, path_type)
    raw_backend = entry.get("backend")
    backend = None
    if raw_backend is None:
        report.add(f"{path}.backend", "is required", Code.INVALID_BACKEND)
    else:
        backend = _check_backend(report, f"{path}.backend", raw_backend)
    if path_type is None or value is None or backend is None:
        return None
    return HTTPPath(value, _PATH_TYPES[path_type], backend, path)


def _plain_http_path(path: str, entry: dict[Any, Any]) -> HTTPPath | None:
    """The ``http.paths[]`` entry at `path` as its view when it is of the usual shape and
    valid (most are), as the checks of `_check_http_path` would give it, in fewer steps; None
    when in doubt: the checks then decide and report."""
    value, path_type = entry.get("path"), entry.get("pathType")
    if value is None:
        value = ""
    if type(value) is not str or type(path_type) is not str:
        return None
    kind = _PATH_TYPES.get(path_type)
    if kind is None or path_problem(value, path_type) is not None:
        return None  # (a path with no problem has no refused character either)
    backend = _plain_backend(entry.get("backend"))
    return None if backend is None else HTTPPath(value, kind, backend, path)


def _plain_backend(raw: object) -> ServiceBackend | None:
    """A ``backend`` naming a Service by a valid name and a valid port number or name, as
    `_check_backend` would give it, in fewer steps; None when in doubt (it then decides)."""
    if type(raw) is not dict or raw.get("resource") is not None:
        return None
    service = raw.get("service")
    if type(service) is not dict:
        return None
    name, port = service.get("name"), service.get("port")
    if type(name) is not str or type(port) is not dict or not is_dns1035_label(name):
        return None
    number, port_name = port.get("number"), port.get("name")
    if port_name is None or port_name == "":
        if type(number) is int and 1 <= number <= 65535:
            return ServiceBackend(name, number)
    elif number is None and type(port_name) is str and is_port_name(port_name):
        return ServiceBackend(name, port_name)
    return None


def _check_path_type(report: Report, path: str, raw: object) -> str | None:
    if raw is None:
        report.add(path, f"is required: one of {', '.join(PATH_TYPES)}", Code.INVALID_PATH_TYPE)
        return None
    path_type = report.text(path, raw, Code.INVALID_PATH_TYPE)
    if path_type is not None and path_type not in PATH_TYPES:
        reason = f"must be one of {', '.join(PATH_TYPES)}"
        report.invalid(path, path_type, reason, Code.INVALID_PATH_TYPE)
        return None
    return path_type


def _check_path_value(report: Report, path: str, value: str, path_type: str) -> None:
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


def _check_backend(report: Report, path: str, raw: object) -> ServiceBackend | None:
    backend = report.mapping(path, raw, Code.INVALID_BACKEND)
    if backend is None:
        return None
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        report.add(path, "must set exactly one of service and resource", Code.INVALID_BACKEND)
    elif service is None and resource is None:
        legacy = "serviceName" in backend or "servicePort" in backend
        reason = "must set service" + (_LEGACY_BACKEND if legacy else "")
        report.add(path, reason, Code.INVALID_BACKEND)
    if resource is not None:
        report.add(f"{path}.resource", "resource backends are not supported", Code.INVALID_BACKEND)
    if service is None:
        return None
    return _check_service(report, path, service)


def _check_service(report: Report, backend_path: str, raw: object) -> ServiceBackend | None:
    path = f"{backend_path}.service"
    service = report.mapping(path, raw, Code.INVALID_BACKEND)
    if service is None:
        return None
    name = report.text(f"{path}.name", service.get("name"), Code.INVALID_BACKEND, required=True)
    if name is not None and not is_dns1035_label(name):
        report.invalid(f"{path}.name", name, _SERVICE_NAME_REASON, Code.INVALID_BACKEND)
    if service.get("port") is None:
        report.add(f"{path}.port", "is required: set port.name or port.number", Code.INVALID_PORT)
    port = report.mapping(f"{path}.port", service.get("port"), Code.INVALID_PORT)
    chosen = _check_service_port(report, f"{path}.port", port) if port is not None else None
    if name is None or chosen is None:
        return None
    return ServiceBackend(name, chosen)


def _check_service_port(report: Report, path: str, port: Mapping[Any, Any]) -> int | str | None:
    """Exactly one of name and number: the one set. Like the API server, an empty name counts
    as unset; unlike it, number 0 is reported as out of range rather than taken as unset."""
    name, number = unless_empty(port.get("name")), port.get("number")
    if name is not None and number is not None:
        report.add(path, "must set exactly one of name and number", Code.INVALID_PORT)
    elif name is None and number is None:
        report.add(path, "must set name or number", Code.INVALID_PORT)
    text = report.text(f"{path}.name", name, Code.INVALID_PORT)
    if text is not None and not is_port_name(text):
        report.invalid(f"{path}.name", text, _PORT_NAME_REASON, Code.INVALID_PORT)
    if number is not None:
        return number if _check_port_number(report, f"{path}.number", number) else None
    return text


def _check_port_number(report: Report, path: str, number: object) -> bool:
    """An integer (JSON true is not one, nor is "80" or 80.0) between 1 and 65535."""
    if isinstance(number, bool) or not isinstance(number, int):
        report.add(path, f"must be an integer, not {json_type(number)}", Code.INVALID_PORT)
        return False
    if not 1 <= number <= 65535:
        report.invalid(path, number, "must be between 1 and 65535", Code.INVALID_PORT)
        return False
    return True


def _check_tls(report: Report, path: str, raw: object) -> TLSEntry | None:
    """Hosts follow `host_problem`; secretName, when set, is a Secret name."""
    entry = report.entry(path, raw, Code.INVALID_TLS)
    if entry is None:
        return None
    hosts = report.sequence(f"{path}.hosts", entry.get("hosts"), Code.INVALID_TLS)
    valid_hosts = []
    for index, raw_host in enumerate(hosts or []):
        host_path = f"{path}.hosts[{index}]"
        host = report.text(host_path, raw_host, Code.INVALID_TLS, required=True)
        if host is not None and _check_host(report, host_path, host, Code.INVALID_TLS):
            valid_hosts.append(host)
    raw_secret = unless_empty(entry.get("secretName"))
    secret = report.text(f"{path}.secretName", raw_secret, Code.INVALID_TLS)
    if secret is not None and not is_dns1123_subdomain(secret):
        report.invalid(f"{path}.secretName", secret, SUBDOMAIN_REASON, Code.INVALID_TLS)
        secret = None
    return TLSEntry(tuple(valid_hosts), secret or "", path)
