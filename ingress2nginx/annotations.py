"""``nginx.ingress.kubernetes.io/*`` annotations: what each means, and reading them.

Every annotation ingress2nginx knows is declared once in `REGISTRY` with its support level
(supported, partly, refused) and, unless refused, a parser that checks the value against an
allowlist and turns it into a typed option. docs/annotations.md is generated from the registry.
Reading an Ingress's annotations gives an `IngressOptions` record; a bad value rejects that
Ingress (with the annotation named), an unknown or refused annotation is a warning.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ingress2nginx.errors import Problem, Severity, shown
from ingress2nginx.objects import Manifest

PREFIX = "nginx.ingress.kubernetes.io/"


class Support(enum.StrEnum):
    """How far ingress2nginx honours an annotation."""

    SUPPORTED = "supported"
    PARTLY = "partly"
    REFUSED = "refused"


class AnnotationValueError(ValueError):
    """An annotation value outside its allowlist; the message says what is allowed."""


@dataclass(frozen=True, slots=True)
class IngressOptions:
    """What an Ingress's annotations ask for; None means "the global default"."""

    ssl_redirect: bool | None = None
    """``ssl-redirect``: redirect plain HTTP to HTTPS on TLS hosts."""
    force_ssl_redirect: bool = False
    """``force-ssl-redirect``: redirect plain HTTP to HTTPS even without a certificate."""


DEFAULT_OPTIONS = IngressOptions()


@dataclass(frozen=True, slots=True)
class Annotation:
    """One annotation as ingress-nginx defines it, and what ingress2nginx does with it."""

    name: str
    """The name after the ``nginx.ingress.kubernetes.io/`` prefix."""
    support: Support
    summary: str
    """What it does, in a sentence."""
    difference: str = ""
    """For partly supported ones what differs; for refused ones why."""
    option: str = ""
    """The `IngressOptions` field it sets."""
    parse: Callable[[str], Any] | None = None
    """Checks a value and converts it; raises AnnotationValueError."""


def parse_bool(value: str) -> bool:
    """A boolean as Go's strconv.ParseBool reads it (ingress-nginx's parser)."""
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise AnnotationValueError('must be "true" or "false"')


REGISTRY: dict[str, Annotation] = {
    annotation.name: annotation
    for annotation in (
        Annotation(
            "ssl-redirect",
            Support.SUPPORTED,
            "Redirect plain HTTP to HTTPS (308) on hosts with TLS; default from the global"
            " ssl-redirect (true).",
            option="ssl_redirect",
            parse=parse_bool,
        ),
        Annotation(
            "force-ssl-redirect",
            Support.SUPPORTED,
            "Redirect plain HTTP to HTTPS (308) even on hosts without a TLS section.",
            option="force_ssl_redirect",
            parse=parse_bool,
        ),
    )
}


def read_options(ingress: Manifest) -> tuple[IngressOptions, list[Problem]]:
    """The options an Ingress's annotations ask for, and the problems with them.

    Problems of severity ERROR (a value outside its allowlist) mean the Ingress must be
    rejected; warnings (unknown or refused annotations) do not.
    """
    options: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in sorted(ingress.annotations):
        if not key.startswith(PREFIX):
            continue
        field = f"metadata.annotations[{key}]"
        annotation = REGISTRY.get(key[len(PREFIX) :])
        if annotation is None:
            problems.append(
                _warning(ingress, field, "unknown annotation; ignored", "unknown-annotation")
            )
            continue
        if annotation.support is Support.REFUSED or annotation.parse is None:
            reason = f"not supported: {annotation.difference}; ignored"
            problems.append(_warning(ingress, field, reason, "unsupported-annotation"))
            continue
        value = ingress.annotations[key]
        try:
            options[annotation.option] = annotation.parse(value)
        except AnnotationValueError as error:
            reason = f"invalid value {shown(value)}: {error}"
            problems.append(
                Problem(Severity.ERROR, ingress.ref, field, reason, "invalid-annotation")
            )
    return (replace(DEFAULT_OPTIONS, **options) if options else DEFAULT_OPTIONS), problems


def _warning(ingress: Manifest, field: str, reason: str, code: str) -> Problem:
    return Problem(Severity.WARNING, ingress.ref, field, reason, code)
