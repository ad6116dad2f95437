"""HTTPRoute path matches as the claims locations.py lays out.

``Exact`` is Ingress's Exact, and ``PathPrefix`` is Ingress's Prefix: element-wise (``/foo``
matches ``/foo`` and ``/foo/bar``, never ``/foobar``; a trailing ``/`` is ignored), so the
same locations serve them and nginx's own choice among them is the Gateway API's precedence
by path: an exact match first, then the longest prefix. ``RegularExpression`` is a
case-sensitive nginx regex that must match the whole path; a host with one lays out its
prefixes as regexes too, longest first (locations.py), so a longer prefix still wins over a
shorter regex. Paths are checked as the API server and nginx need (paths.py).

A match without ``path`` is ``PathPrefix /``; a rule without ``matches`` has that one match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingress2nginx.model import Match, PathType, Route
from ingress2nginx.normalize.paths import location_path, path_problem, regex_path_problem

EXACT = "Exact"
PATH_PREFIX = "PathPrefix"
REGULAR_EXPRESSION = "RegularExpression"

PATH_TYPES = {EXACT: PathType.EXACT, PATH_PREFIX: PathType.PREFIX,
              REGULAR_EXPRESSION: PathType.IMPLEMENTATION_SPECIFIC}  # fmt: skip
"""The Ingress path type of the same meaning (a regex is ImplementationSpecific's)."""


def path_type_name(route: Route) -> str:
    """The path type as the route's own API names it (``PathPrefix`` for an HTTPRoute)."""
    if route.origin.kind != "HTTPRoute":
        return str(route.path_type)
    return next(name for name, kind in PATH_TYPES.items() if kind is route.path_type)


@dataclass(frozen=True, slots=True)
class PathMatch:
    """One checked path match."""

    kind: str
    """``Exact``, ``PathPrefix`` or ``RegularExpression``."""
    value: str
    """As the route wrote it."""
    key: tuple[Match, str]
    """What nginx compares: two matches with one key serve the same paths."""

    @property
    def path_type(self) -> PathType:
        """The Ingress path type of the same meaning."""
        return PATH_TYPES[self.kind]

    @property
    def regex(self) -> bool:
        """A RegularExpression match."""
        return self.kind == REGULAR_EXPRESSION


def path_match(match: Mapping[str, Any]) -> PathMatch | str:
    """The checked path of one ``matches`` entry, or why it cannot be served."""
    path = match.get("path")
    path = path if isinstance(path, Mapping) else {}
    kind = path.get("type") or PATH_PREFIX
    value = path.get("value") or "/"
    if not isinstance(kind, str) or kind not in PATH_TYPES:
        return f"path type {kind!r} is not Exact, PathPrefix or RegularExpression"
    if not isinstance(value, str) or not value.startswith("/"):
        return "path value must start with /"
    if kind == REGULAR_EXPRESSION:
        trouble = regex_path_problem(value)
        if trouble:
            return f"not a usable regular expression: {trouble}"
        return PathMatch(kind, value, (Match.REGEX_CASE_SENSITIVE, f"(?:{value})$"))
    trouble = path_problem(value, "Exact" if kind == EXACT else "Prefix")
    if trouble:
        return trouble
    decoded = location_path(value)
    normalized = decoded if kind == EXACT else decoded.rstrip("/") or "/"
    return PathMatch(kind, value, (Match.EXACT if kind == EXACT else Match.PREFIX, normalized))


def rule_matches(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A rule's ``matches``; a rule without any matches every request (``PathPrefix /``)."""
    found = rule.get("matches")
    entries: list[Mapping[str, Any]] = (
        [item for item in found if isinstance(item, Mapping)] if isinstance(found, list) else []
    )
    return entries or [{}]
