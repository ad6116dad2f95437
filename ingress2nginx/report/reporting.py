"""Problems for people and for tools: text (coloured on terminals), JSON, GitHub annotations.

``check --format text|json|github`` and every command's stderr use this. Each problem keeps
its meaning (severity, object, field, reason, code); only the layout changes. GitHub
annotations (and JSON's file and line) point at the line of the field a problem is about
(found by locating.py, which the command passes in: this module does no I/O), else of the
object, so CI shows them on the manifest itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TextIO

from ingress2nginx.core.errors import ObjectRef, Problem, Severity

FORMATS = ("text", "json", "github")

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_RESET = "\033[0m"
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}

Origins = Mapping[tuple[str, str, str], str]
"""(kind, namespace, name) -> ``path:line`` where the object was read."""

FieldLine = Callable[[str, int, str], int]
"""(file, line of the object's document, field path) -> the line of that field
(locating.field_line, which reads the file again: the command passes it in)."""


def _document_line(path: str, line: int, field: str) -> int:
    return line


def wants_colour(stream: TextIO) -> bool:
    """Colour only on terminals, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def text_lines(problems: Iterable[Problem], colour: bool = False) -> list[str]:
    """One line per problem: ``severity: subject: field: reason``."""
    lines = []
    for problem in problems:
        line = str(problem)
        if colour:
            label = str(problem.severity)
            line = f"{_COLOURS[problem.severity]}{label}{_RESET}{line[len(label) :]}"
        lines.append(line)
    return lines


def as_json(
    problems: Sequence[Problem],
    summary: Mapping[str, object],
    origins: Origins,
    field_line: FieldLine = _document_line,
) -> str:
    """The problems and a summary as one JSON document."""
    return json.dumps(
        {
            "problems": [_problem_json(problem, origins, field_line) for problem in problems],
            **summary,
        },
        indent=2,
        ensure_ascii=False,
    )


def github_lines(
    problems: Iterable[Problem], origins: Origins, field_line: FieldLine = _document_line
) -> list[str]:
    """GitHub Actions workflow commands (``::error file=...,line=...::message``)."""
    lines = []
    for problem in problems:
        level = _GITHUB_LEVEL[problem.severity]
        where = _location(problem, origins, field_line)
        properties = [f"title={_property(problem.code)}"]
        if where is not None:
            path, line = where
            properties = [f"file={_property(path)}", f"line={line}", *properties]
        message = (
            f"{problem.subject}: {problem.field}: {problem.reason}"
            if problem.field
            else (f"{problem.subject}: {problem.reason}")
        )
        lines.append(f"::{level} {','.join(properties)}::{_data(message)}")
    return lines


def fails(problems: Iterable[Problem], threshold: Severity) -> bool:
    """Whether any problem is at least as bad as `threshold`."""
    return any(problem.severity >= threshold for problem in problems)


def _problem_json(problem: Problem, origins: Origins, field_line: FieldLine) -> dict[str, object]:
    subject: object
    if isinstance(problem.subject, ObjectRef):
        ref = problem.subject
        subject = {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
    else:
        subject = {"source": problem.subject}
    found: dict[str, object] = {
        "severity": str(problem.severity),
        "code": problem.code,
        "object": subject,
        "field": problem.field,
        "reason": problem.reason,
    }
    where = _location(problem, origins, field_line)
    if where is not None:
        found["file"], found["line"] = where
    return found


def _location(problem: Problem, origins: Origins, field_line: FieldLine) -> tuple[str, int] | None:
    """(file, line) of the object or source a problem is about, when read from a file."""
    if isinstance(problem.subject, ObjectRef):
        ref = problem.subject
        origin = origins.get((ref.kind, ref.namespace, ref.name))
    else:
        origin = problem.subject
    if not origin or ":" not in origin:
        return None
    path, _, line = origin.rpartition(":")
    if not line.isdigit() or path in ("cluster", "<stdin>"):
        return None
    if isinstance(problem.subject, ObjectRef):
        return path, field_line(path, int(line), problem.field)
    return path, int(line)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
