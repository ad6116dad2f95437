"""What the access-control annotations share: fail closed, and Secrets by reference.

Basic auth (auth.py), external auth (external_auth.py), client certificates (client_tls.py)
and backend certificates (backend_tls.py) all decide who may reach a backend, or how. They
follow one rule: when something they need is wrong — a value outside its allowlist, a missing
or unreadable Secret, a Secret in another namespace — the Ingress's paths are **denied**:
they stay claimed and answer 503 (as ingress-nginx answers a "denied" location), and an error
names the Ingress and the annotation. Rejecting the Ingress instead would release its paths to
whatever else matches them (another Ingress's ``/`` on the same host, often the same Service),
serving without the protection that was asked for.

So their annotations declare ``OnInvalid.DENY``: reading the annotations turns a bad value into
an `Invalid` marker in its option field rather than an error that rejects the Ingress, and
`Lookup.invalid` turns markers into the denial when the Ingress's references are resolved
(references.py). The source ranges (access.py) are denied the same way. Secrets are named
``name`` (the Ingress's namespace) or ``namespace/name``; another namespace is refused unless
the global option ``allow-cross-namespace-resources`` is on, as in ingress-nginx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.grammar import is_dns1123_label, is_dns1123_subdomain
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.secret_files import secret_items
from ingress2nginx.features.base import PREFIX, AnnotationValueError, Hooks, Invalid

DENIED_STATUS = 503
"""What a denied path answers (ingress-nginx's ``return 503`` for denied locations)."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A Secret named by an annotation: ``name`` or ``namespace/name``."""

    namespace: str | None
    """None: the Ingress's own namespace."""
    name: str

    def key(self, ingress_namespace: str) -> tuple[str, str]:
        """(namespace, name), the Ingress's namespace filled in."""
        return (self.namespace or ingress_namespace, self.name)


def secret_ref(value: str) -> SecretRef:
    """``name`` or ``namespace/name``: a DNS-1123 name, a DNS-1123 label namespace."""
    text = value.strip()
    namespace, slash, name = text.rpartition("/")
    if slash and not is_dns1123_label(namespace):
        raise AnnotationValueError("must be name or namespace/name (lowercase DNS names)")
    if not is_dns1123_subdomain(name):
        raise AnnotationValueError("must be name or namespace/name (lowercase DNS names)")
    return SecretRef(namespace if slash else None, name)


@dataclass(slots=True)
class Lookup:
    """What resolving one Ingress's references needs, and where its problems go."""

    ingress: Manifest
    secrets: Mapping[tuple[str, str], Manifest]
    allow_cross_namespace: bool
    runtime_dir: Path | None
    problems: list[Problem]
    denies: str = "every path of this Ingress"
    """What a denial closes, for messages."""

    def deny(self, annotation: str, reason: str) -> str:
        """Report that the Ingress's paths are denied because of `annotation`; the reason."""
        self.problems.append(
            Problem(
                Severity.ERROR,
                self.ingress.ref,
                _where(annotation),
                f"{reason}; {self.denies} answers {DENIED_STATUS}"
                " (access is denied rather than left open)",
                Code.ACCESS_DENIED,
            )
        )
        return reason

    def warn(self, annotation: str, reason: str) -> None:
        """A problem that changes nothing about access (an option without effect)."""
        self.problems.append(
            Problem(Severity.WARNING, self.ingress.ref, _where(annotation), reason, Code.ANNOTATION)
        )

    def invalid(self, options: Any, names: Mapping[str, str]) -> str | None:
        """Deny for every `Invalid` field of `options` (field -> annotation in `names`);
        the first reason, or None when every value is valid."""
        first = None
        for item in fields(options):
            value = getattr(options, item.name)
            if isinstance(value, Invalid):
                reason = f"invalid value {shown(value.value)}: {value.reason}"
                denied = self.deny(names[item.name], reason)
                first = first or denied
        return first

    def secret(self, annotation: str, ref: SecretRef) -> dict[str, bytes] | str:
        """The keys of a referenced Secret, or (already reported) why it cannot be used."""
        namespace, name = ref.key(self.ingress.namespace)
        if namespace != self.ingress.namespace and not self.allow_cross_namespace:
            return self.deny(
                annotation,
                f"Secret {namespace}/{name} is in another namespace, which needs the global"
                " option allow-cross-namespace-resources",
            )
        secret = self.secrets.get((namespace, name))
        if secret is None:
            return self.deny(annotation, f"Secret {namespace}/{name} is not in the input")
        items = secret_items(secret)
        if isinstance(items, str):
            return self.deny(annotation, f"Secret {namespace}/{name}: {items}")
        return items


def _where(annotation: str) -> str:
    return f"metadata.annotations[{PREFIX}{annotation}]"


def field_names(annotations: tuple[Any, ...]) -> dict[str, str]:
    """Options field (attribute part) -> annotation name, from a feature's ANNOTATIONS."""
    return {
        annotation.field.split(".", 1)[1]: annotation.name
        for annotation in annotations
        if annotation.field
    }


def denial(options: Any) -> str | None:
    """Why the paths of an Ingress with these `IngressOptions` are denied; None if they are not."""
    return (
        options.access.denied
        or options.auth.denied
        or options.external_auth.denied
        or options.backend_tls.denied
        or None
    )


def deny_directives(location: Any, settings: Any) -> list[Directive]:
    """``return 503`` in every proxying location of a denied Ingress. It runs first among the
    features (a ``rewrite ... break`` would end the rewrite phase before it)."""
    if denial(location.options) is None:
        return []
    return [directive("return", DENIED_STATUS)]


HOOKS = Hooks(location=deny_directives)
