"""Legacy Ingress versions converted to ``networking.k8s.io/v1``, as the API server does it.

Manifests kept in git still say ``extensions/v1beta1`` or ``networking.k8s.io/v1beta1``. The
API server would convert them on the way in; read from files nothing does, so loading calls
`to_v1_ingress` and every later stage sees one shape only. The rules follow the API server's
conversion and defaulting for both legacy versions (they are identical):

- ``spec.backend`` becomes ``spec.defaultBackend``;
- a backend's ``serviceName``/``servicePort`` become ``service: {name, port}``, ``resource`` is
  kept, other keys are dropped (v1beta1 has no other backend fields, so the API server drops
  them as unknown — a v1-style ``service:`` under a v1beta1 apiVersion is not honoured);
- a path without ``pathType`` gets ``ImplementationSpecific`` (the v1beta1 default);
- everything else (``ingressClassName``, ``tls``, ``rules[].host``, metadata, status) is
  carried over unchanged.

A legacy Ingress written with v1 fields (``service:`` backends, ``spec.defaultBackend``: a
common half-done migration) is converted the same way, fields dropped; `v1_fields` names each
one so the messages point at the cause, not only at the backend left without a Service.

The input is never mutated; the result shares every unchanged sub-object with it, so
conversion costs a few small dicts per Ingress rather than a deep copy. Malformed input (a
``rules`` that is not a list, say) is carried over as is for validation to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingress2nginx.core.codes import Code

INGRESS_V1 = "networking.k8s.io/v1"
"""The one Ingress apiVersion later stages see."""

LEGACY_INGRESS_VERSIONS = frozenset({"networking.k8s.io/v1beta1", "extensions/v1beta1"})
"""Ingress apiVersions `to_v1_ingress` converts."""

DEFAULT_PATH_TYPE = "ImplementationSpecific"
"""What the API server fills in for a legacy path without pathType."""


def to_v1_ingress(body: Mapping[str, Any]) -> dict[str, Any]:
    """A legacy Ingress as the API server would serve it in ``networking.k8s.io/v1``.

    An Ingress that is already v1 comes back as a shallow copy, unchanged.
    """
    converted = dict(body)
    if body.get("apiVersion") not in LEGACY_INGRESS_VERSIONS:
        return converted
    converted["apiVersion"] = INGRESS_V1
    spec = body.get("spec")
    if isinstance(spec, Mapping):
        converted["spec"] = _convert_spec(spec)
    return converted


def _convert_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "backend":
            if value is not None:
                converted["defaultBackend"] = _convert_backend(value)
        elif key == "rules":
            converted["rules"] = _convert_rules(value)
        elif key != "defaultBackend":  # not a v1beta1 field: the API server drops it
            converted[key] = value
    return converted


def _convert_rules(rules: object) -> object:
    if not isinstance(rules, list):
        return rules
    return [_convert_rule(rule) for rule in rules]


def _convert_rule(rule: object) -> object:
    if not isinstance(rule, Mapping):
        return rule
    http = rule.get("http")
    if not isinstance(http, Mapping) or not isinstance(http.get("paths"), list):
        return rule
    paths = [_convert_path(path) for path in http["paths"]]
    return {**rule, "http": {**http, "paths": paths}}


def _convert_path(path: object) -> object:
    if not isinstance(path, Mapping):
        return path
    converted = dict(path)
    if converted.get("pathType") is None:
        converted["pathType"] = DEFAULT_PATH_TYPE
    if "backend" in converted:
        converted["backend"] = _convert_backend(converted["backend"])
    return converted


def _convert_backend(backend: object) -> object:
    """``{serviceName, servicePort}`` as ``{service: {name, port}}``; ``resource`` kept.

    ``servicePort`` is an IntOrString, and the API server converts it by its type, never by
    its look: ``servicePort: 80`` (an int) becomes ``port: {number: 80}``, while
    ``servicePort: "80"`` (a string) becomes ``port: {name: "80"}`` — a port *name*, which
    validation then refuses, exactly as the API server would. A service is written when there
    is a service name or any port, as the API server does; an absent or empty port gives
    ``port: {}``. Values the API server could not decode (a float, a bool, a list) are
    carried as ``number`` unchanged so that validation names them.
    """
    if not isinstance(backend, Mapping):
        return backend
    converted: dict[str, Any] = {}
    if backend.get("resource") is not None:
        converted["resource"] = backend["resource"]
    name = backend.get("serviceName")
    port = backend.get("servicePort")
    if name not in (None, "") or _has_port(port):
        converted["service"] = {"name": "" if name is None else name, "port": _service_port(port)}
    return converted


def _has_port(port: object) -> bool:
    """Whether an IntOrString was set: any string (even empty) or an int other than 0."""
    return port is not None and not (type(port) is int and port == 0)


def _service_port(port: object) -> dict[str, Any]:
    if not _has_port(port) or port == "":
        return {}
    if isinstance(port, str):
        return {"name": port}
    return {"number": port}


V1_FIELD_CODE = Code.V1_FIELD_IN_LEGACY_INGRESS
"""Problem code of what `v1_fields` finds."""


def v1_fields(body: Mapping[str, Any]) -> tuple[tuple[bool, str, str], ...]:
    """(fatal, field path, reason) for each ``networking.k8s.io/v1`` field a legacy Ingress
    holds, which conversion drops as the API server does. Fatal when it leaves a backend
    without a Service (validation then rejects the Ingress)."""
    version = body.get("apiVersion")
    spec = body.get("spec")
    if version not in LEGACY_INGRESS_VERSIONS or not isinstance(spec, Mapping):
        return ()
    found = []
    if spec.get("defaultBackend") is not None:
        reason = (
            f"is a networking.k8s.io/v1 field, dropped in apiVersion {version}: write"
            " spec.backend with serviceName and servicePort, or change apiVersion to"
            " networking.k8s.io/v1 (the default backend is not served meanwhile)"
        )
        found.append((False, "spec.defaultBackend", reason))
    for field, backend in _legacy_backends(spec):
        if isinstance(backend, Mapping) and backend.get("service") is not None:
            fatal = backend.get("serviceName") in (None, "")
            found.append((fatal, f"{field}.service", _service_reason(version, fatal)))
    return tuple(found)


def _service_reason(version: str, fatal: bool) -> str:
    if not fatal:
        return (f"is a networking.k8s.io/v1 field, ignored in apiVersion {version}: the backend"
                " is its serviceName and servicePort")  # fmt: skip
    return (
        f"is a networking.k8s.io/v1 field, dropped in apiVersion {version}, where a backend"
        " is serviceName and servicePort: write those, or change apiVersion to"
        " networking.k8s.io/v1"
    )


def _legacy_backends(spec: Mapping[str, Any]) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = [("spec.backend", spec.get("backend"))]
    rules = spec.get("rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        http = rule.get("http") if isinstance(rule, Mapping) else None
        paths = http.get("paths") if isinstance(http, Mapping) else None
        for path_index, path in enumerate(paths if isinstance(paths, list) else []):
            if isinstance(path, Mapping):
                field = f"spec.rules[{index}].http.paths[{path_index}].backend"
                found.append((field, path.get("backend")))
    return found
