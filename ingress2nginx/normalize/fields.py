"""Reading fields that may hold any JSON type, each problem reported with its field path.

Objects read from files skipped the API server, so a field may hold anything: a list where an
object belongs, a number where a string does, characters nginx.conf must never see. `Report`
collects one object's problems and reads a field as the type it must have, reporting it
(with the field path the API server would print) when it is not: validating.py and
metadata.py read an Ingress through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity, shown
from ingress2nginx.core.grammar import refused_characters

_SAFE_KEY = re.compile(r"[A-Za-z0-9._/-]{1,253}")


@dataclass(slots=True)
class Report:
    """Problems of one object, and readers that take a field whatever its JSON type."""

    ref: ObjectRef
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, reason: str, code: Code) -> None:
        self.problems.append(Problem(Severity.ERROR, self.ref, path, reason, code))

    def invalid(self, path: str, value: object, reason: str, code: Code) -> None:
        self.add(path, f"{reason} (got {shown(value)})", code)

    def mapping(self, path: str, value: object, code: Code) -> Mapping[Any, Any] | None:
        """`value` if it is an object; None when absent, or after reporting its wrong type."""
        if value is None or type(value) is dict or isinstance(value, Mapping):
            return value  # (a dict, as parsed, is checked first: an ABC check costs more)
        self.add(path, f"must be an object, not {json_type(value)}", code)
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
        self.add(path, f"must be a list, not {json_type(value)}", code)
        return None

    def text(self, path: str, value: object, code: Code, *, required: bool = False) -> str | None:
        """`value` if it is a string free of refused characters; None otherwise, reported
        unless it is absent and optional. With `required`, '' counts as absent."""
        if type(value) is str and value and value.isascii() and value.isprintable():
            return value  # most strings: printable ASCII holds no refused character
        if value is None or (required and value == ""):
            if required:
                self.add(path, "is required", code)
            return None
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {json_type(value)}", code)
            return None
        refused = refused_characters(value)
        if refused:
            self.invalid(path, value, refused, Code.INVALID_CHARACTER)
            return None
        return value


def unless_empty(value: object) -> object:
    """None for '' (Go's zero value: the API server treats an empty string as unset)."""
    return None if isinstance(value, str) and value == "" else value


def keyed(path: str, key: object) -> str:
    """``path[key]`` as the API server writes a map entry; an unusual key is quoted and
    escaped, so it cannot garble the message."""
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key):
        return f"{path}[{key}]"
    return f"{path}[{shown(key)}]"


def json_type(value: object) -> str:
    """The JSON type of `value`, with its article, for messages (``a number``)."""
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


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8 (lone surrogates counted as they would be written)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))
