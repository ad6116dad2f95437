"""Reading untrusted Gateway API objects: fields of the wrong shape count as absent.

Objects from files have not been through the API server's schema, so a list may be a number
and a name a mapping; these helpers read such a field as empty rather than fail, and the
caller's checks report what is missing or invalid.
"""

from __future__ import annotations

from typing import Any


def listed(value: object) -> list[Any]:
    """A list field: the list, or empty when it is anything else."""
    return value if isinstance(value, list) else []


def text(value: object) -> str | None:
    """A string field: the string, or None when it is anything else."""
    return value if isinstance(value, str) else None
