"""HTTPRoute header, query parameter and method matches as request `Condition`s.

Each condition becomes an nginx ``map`` from a request variable to 1 or 0 (gateway/nginx.py),
so no user value ever becomes a directive: names are checked against an allowlist before
they name a variable, and values only ever sit, quoted by quoting.py, in the key of a map.

- ``headers``: the name is matched case-insensitively (nginx's ``$http_<name>``; names are
  limited to letters, digits and ``-``: nginx ignores headers with ``_`` by default); type
  ``Exact`` (the default) compares the whole value case-sensitively, ``RegularExpression``
  searches it with a PCRE regex. Of two entries naming one header, the first counts.
- ``queryParams``: ``Exact`` compares ``name=value`` exactly, case-sensitively, against the
  raw query string (any occurrence of the parameter); ``RegularExpression`` searches the value
  of ``$arg_<name>`` (nginx's first occurrence; its name is compared case-insensitively).
- ``method``: one of the HTTP methods the Gateway API lists, exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ingress2nginx.core.errors import shown
from ingress2nginx.core.grammar import refused_characters
from ingress2nginx.model import Condition

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                     "PATCH"})  # fmt: skip
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,256}\Z")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]{1,256}\Z")
_MAX_VALUE = 4096


def conditions(match: Mapping[str, Any]) -> tuple[tuple[Condition, ...], int, int, bool] | str:
    """(conditions, header count, query parameter count, has a method) of one ``matches``
    entry, or why it cannot be served."""
    found: list[Condition] = []
    headers = _entries(match.get("headers"), "headers")
    params = _entries(match.get("queryParams"), "queryParams")
    if isinstance(headers, str) or isinstance(params, str):
        return headers if isinstance(headers, str) else str(params)
    for index, entry in enumerate(headers):
        made = _header(entry)
        if isinstance(made, str):
            return f"headers[{index}]: {made}"
        found.append(made)
    for index, entry in enumerate(params):
        made = _query(entry)
        if isinstance(made, str):
            return f"queryParams[{index}]: {made}"
        found.append(made)
    method = match.get("method")
    if method is not None:
        if not isinstance(method, str) or method not in METHODS:
            return f"method {shown(method)} is not one of {', '.join(sorted(METHODS))}"
        found.append(Condition("request_method", f"^{method}$"))
    return tuple(found), len(headers), len(params), method is not None


def conditions_text(count: int) -> str:
    """How explain says a match asks for more than its path."""
    return "when 1 more condition holds" if count == 1 else f"when {count} more conditions hold"


def _entries(value: object, field: str) -> list[Mapping[str, Any]] | str:
    """The entries, the first of each name (names compared as the field compares them)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        return f"{field} must be a list of name and value entries"
    seen: set[str] = set()
    kept = []
    for item in value:
        name = item.get("name")
        key = name.lower() if isinstance(name, str) and field == "headers" else str(name)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _header(entry: Mapping[str, Any]) -> Condition | str:
    name, value = entry.get("name"), entry.get("value")
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        return f"header name {shown(name)}: only letters, digits and '-' are supported"
    source = "http_" + name.lower().replace("-", "_")
    return _condition(source, _pattern(entry.get("type") or "Exact", value))


def _condition(source: str, pattern: str) -> Condition | str:
    """The condition, or the reason `_pattern` gave."""
    if pattern.startswith("\0"):
        return pattern[1:]
    return Condition(source, pattern)


def _query(entry: Mapping[str, Any]) -> Condition | str:
    name, value = entry.get("name"), entry.get("value")
    if not isinstance(name, str) or not _PARAM_NAME.match(name):
        return f"query parameter name {shown(name)}: only letters, digits and '_' are supported"
    kind = entry.get("type") or "Exact"
    if kind == "Exact":
        checked = _value(value)
        if checked:
            return checked
        return Condition("args", f"(^|&){re.escape(name)}={re.escape(str(value))}(&|$)")
    return _condition("arg_" + name, _pattern(kind, value))


def _pattern(kind: str, value: object) -> str:
    """The regex testing a value; a reason prefixed with NUL when it cannot be served."""
    checked = _value(value)
    if checked:
        return "\0" + checked
    text = str(value)
    if kind == "Exact":
        return f"^{re.escape(text)}$"
    if kind != "RegularExpression":
        return f"\0type {shown(kind)} is not Exact or RegularExpression"
    trouble = regex_problem(text)
    return "\0" + trouble if trouble else text


def _value(value: object) -> str | None:
    if not isinstance(value, str):
        return "the value must be a string"
    if len(value) > _MAX_VALUE:
        return f"the value must be no more than {_MAX_VALUE} characters"
    return refused_characters(value)


def regex_problem(regex: str) -> str | None:
    """Why a user regex cannot be a map key: named groups (nginx would make variables of
    them), or it does not compile."""
    if re.search(r"\(\?P?<(?![=!])|\(\?'", regex):
        return "named groups are not supported in a regular expression"
    try:
        re.compile(regex)
    except re.error as error:
        return f"not a valid regular expression: {error}"
    return None
