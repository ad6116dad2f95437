"""Errors and problems a person can act on.

Two kinds of trouble exist. Exceptions (`Ingress2NginxError` and below) stop a command: a
source that cannot be read, an output that fails validation. `Problem` records are collected,
not raised: a rejected Ingress, a conflict, an unsupported annotation. Each names the object
(``ingress default/web``), the field path (``spec.rules[0].http.paths[1].path``) and the
reason, so the person reading it knows what to fix and where.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ingress2nginx.core.codes import Code


class Ingress2NginxError(Exception):
    """Base of every error this program raises on purpose."""


class SourceError(Ingress2NginxError):
    """A source (file, folder, stdin, API) could not be read or parsed.

    `location` is ``path`` or ``path:line`` so editors and CI annotations can jump to it.
    """

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason

    def __reduce__(self) -> tuple[type[SourceError], tuple[str, str]]:
        """Pickled as its two arguments (a worker process sends it back: pooling.py)."""
        return type(self), (self.location, self.reason)


class TemplateError(Ingress2NginxError):
    """A template is missing, malformed or tried to emit an unquoted value."""


class OutputValidationError(Ingress2NginxError):
    """The rendered configuration was refused by ``nginx -t`` or by crossplane."""


class OutputWriteError(Ingress2NginxError):
    """The output, or a certificate or auth file, could not be written."""


class Severity(enum.IntEnum):
    """How bad a problem is; ordered so ``max()`` gives the worst."""

    INFO = 10
    WARNING = 20
    ERROR = 30

    def __str__(self) -> str:
        return "note" if self is Severity.INFO else self.name.lower()


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Which Kubernetes object a problem is about."""

    kind: str
    """Kind as Kubernetes spells it: ``Ingress``, ``Service``."""
    namespace: str
    """Namespace; empty for cluster-scoped kinds such as IngressClass."""
    name: str
    """metadata.name."""

    def __str__(self) -> str:
        key = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind.lower()} {shown_name(key)}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, collected rather than raised."""

    severity: Severity
    subject: ObjectRef | str
    """The object concerned, or a source location (``path:line``) when no object is."""
    field: str
    """Field path inside the object (``spec.rules[0].host``); empty when it is the whole object."""
    reason: str
    """What is wrong, in words; user values inside it are already made printable."""
    code: Code
    """A stable short identifier (``invalid-path``, ``conflict``) for tools and tests."""

    @property
    def message(self) -> str:
        """``subject: field: reason``, without the severity (a log line states it once)."""
        where = f"{self.subject}: {self.field}" if self.field else str(self.subject)
        return f"{where}: {self.reason}"

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


_NAME_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-./")


def shown_name(name: str) -> str:
    """A name as it may appear in a message: as is when it is a plain name, else escaped."""
    if name and set(name) <= _NAME_SAFE:
        return name
    return shown(name)


def shown(value: object) -> str:
    """A user value made safe to print on a terminal: quoted, control characters escaped."""
    text = value if isinstance(value, str) else repr(value)
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    if len(escaped) > 120:
        escaped = escaped[:117] + "..."
    return f'"{escaped}"'
