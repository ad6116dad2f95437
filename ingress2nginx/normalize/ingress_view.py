"""A validated Ingress as typed records: what routing reads instead of the raw JSON.

Validation (validating.py) walks an Ingress whose fields may hold any JSON type; when it finds
nothing wrong it hands back an `IngressView`, and everything after it (routing, TLS, backends)
reads these records: every field has the type and meaning validation checked, so no later
stage guards against a missing key or a wrong type again. Each record carries its field path
(``spec.rules[0].http.paths[2]``) for the messages that name it.

Absent optional fields are Kubernetes' zero values: no host is ``""`` (the catch-all), no
path is ``""``, no secretName is ``""``. A resource backend never passes validation (it is
refused), so a backend here is always a Service's port. Annotations are not part of the view:
features read them through their registry (features/__init__.py's `read_options`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingress2nginx.model import PathType

__all__ = ["DEFAULT_BACKEND_FIELD", "HTTPPath", "IngressView", "Rule", "ServiceBackend", "TLSEntry"]

DEFAULT_BACKEND_FIELD = "spec.defaultBackend"
"""The field path of `IngressView.default_backend`."""


@dataclass(frozen=True, slots=True)
class ServiceBackend:
    """A ``backend.service``: a Service of the Ingress's namespace and one of its ports."""

    name: str
    """The Service's name (a DNS-1035 label)."""
    port: int | str
    """``port.number`` (1-65535) when set, else ``port.name`` (an IANA service name)."""


@dataclass(frozen=True, slots=True)
class HTTPPath:
    """One ``http.paths[]`` entry."""

    path: str
    """As written: not yet decoded or normalized; ``""`` when absent (ImplementationSpecific
    only: the other types must start with ``/``)."""
    path_type: PathType
    backend: ServiceBackend
    field: str
    """``spec.rules[0].http.paths[2]``."""

    @property
    def backend_field(self) -> str:
        """The field path of its backend (``spec.rules[0].http.paths[2].backend``), worked
        out when a message needs it: a view is kept per Ingress in watch mode, so it holds
        no more strings than it must."""
        return f"{self.field}.backend"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``spec.rules[]`` entry: a host, its paths, both or neither."""

    host: str
    """A precise host or a ``*.`` wildcard; ``""`` for a rule without a host."""
    paths: tuple[HTTPPath, ...]
    field: str
    """``spec.rules[0]``."""


@dataclass(frozen=True, slots=True)
class TLSEntry:
    """One ``spec.tls[]`` entry."""

    hosts: tuple[str, ...]
    secret_name: str
    """A Secret of the Ingress's namespace; ``""`` when the entry names none."""
    field: str
    """``spec.tls[0]``."""


@dataclass(frozen=True, slots=True)
class IngressView:
    """The validated ``spec`` of one Ingress."""

    ingress_class: str | None
    """``spec.ingressClassName`` (which Ingresses are served is decided before validation,
    from the raw object, by classifying.py: an Ingress of another class is never validated)."""
    default_backend: ServiceBackend | None
    """At `DEFAULT_BACKEND_FIELD`."""
    rules: tuple[Rule, ...]
    tls: tuple[TLSEntry, ...]

    @property
    def rule_hosts(self) -> list[str]:
        """The hosts its rules name, in order (a host named twice, twice)."""
        return [rule.host for rule in self.rules if rule.host]
