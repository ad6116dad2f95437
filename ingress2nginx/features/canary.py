"""canary, canary-by-header(-value/-pattern), canary-by-cookie, canary-weight(-total).

A canary Ingress names the same host and path as a main Ingress; requests are sent to its
backend instead when, in ingress-nginx's order of precedence:

1. the ``canary-by-header`` header is ``always`` (``never`` keeps the main backend), or equals
   ``canary-by-header-value``, or matches ``canary-by-header-pattern`` (any other value: next
   rule);
2. the ``canary-by-cookie`` cookie is ``always`` (``never``: main);
3. a random draw falls within ``canary-weight`` out of ``canary-weight-total`` (100).

Stock nginx does this with maps and ``split_clients`` at http level; the location proxies to a
variable naming the chosen upstream (or address). All other annotations of a canary Ingress are
ignored, as in ingress-nginx: the main Ingress's location settings apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingress2nginx.core.actions import CanaryOptions, ProxyToUpstream, Split
from ingress2nginx.core.directives import Directive, block, entry
from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    compiles,
    partly,
    supported,
)
from ingress2nginx.features.values import integer, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, ProxyToAddress

_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}\Z")
_COOKIE = re.compile(r"[A-Za-z0-9_.~:/-]{1,100}\Z")
"""ingress-nginx's characters for canary-by-cookie: letters, digits and ``_ . ~ : / -``."""
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_]+\Z")
"""What nginx can read as ``$cookie_<name>``; other names are found in the Cookie header."""
_VALUE = re.compile(r"[\x21-\x7e]{1,256}\Z")
_PATTERN_REFUSED = re.compile(r"[\s\"';{}#`]|\(\?<|\(\?P|\(\*|\\[^.\\/\-dwsDWS+*?()\[\]|^${}]")


def header_name(value: str) -> str:
    """An HTTP header name nginx can read as ``$http_<name>``."""
    if not _HEADER.match(value):
        raise AnnotationValueError("must be a header name: letters, digits and '-'")
    return value


def cookie_name(value: str) -> str:
    """A cookie name as ingress-nginx takes it (``canary_user``, ``Canary-By-Cookie``):
    letters, digits and ``_ . ~ : / -``; spaces are removed, as ingress-nginx does."""
    name = value.replace(" ", "")
    if not _COOKIE.match(name):
        raise AnnotationValueError("must be a cookie name: letters, digits and _ . ~ : / -")
    return name


def header_value(value: str) -> str:
    """A header value compared exactly: printable ASCII without spaces."""
    if not _VALUE.match(value):
        raise AnnotationValueError("must be printable ASCII without spaces, at most 256")
    return value


def header_pattern(value: str) -> str:
    """A PCRE for the header value: a conservative subset, compiled to check it."""
    if not value or len(value) > 256 or _PATTERN_REFUSED.search(value):
        raise AnnotationValueError(
            "must be a simple regular expression without spaces, quotes, ';', braces' escapes"
            " or named groups"
        )
    if re.search(r"\$(?![)|]|\Z)", value):
        raise AnnotationValueError("may use '$' only as an end anchor")
    return compiles(value)


ANNOTATIONS: tuple[Annotation, ...] = (
    supported("canary", "Mark the Ingress as the canary of the main Ingress with the same"
              " host and path.", "canary.enabled", parse_bool),
    supported("canary-by-header", "Header routing to the canary: always / never / other"
              " values fall through.", "canary.header", header_name),
    supported("canary-by-header-value", "Exact header value routing to the canary.",
              "canary.header_value", header_value),
    supported("canary-by-header-pattern", "Header value regex routing to the canary (ignored"
              " when canary-by-header-value is set).", "canary.header_pattern", header_pattern),
    supported("canary-by-cookie", "Cookie routing to the canary: always / never (the cookie"
              " name: letters, digits and _ . ~ : / -).", "canary.cookie", cookie_name),
    supported("canary-weight", "Share of other requests sent to the canary, out of"
              " canary-weight-total.", "canary.weight", integer(0, 1_000_000)),
    partly("canary-weight-total", "Total of canary-weight (default 100).",
           "the share is kept to a hundredth of a percent (nginx's split_clients): with a total"
           " above 10,000 it is rounded, and a share under 0.005 % sends nothing",
           "canary.weight_total", integer(1, 1_000_000)),
)  # fmt: skip


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """The maps and split that choose between main and canary, once per canary location."""
    return [item for split in _splits(config) for item in _choice(split)]


def _splits(config: Config) -> Iterator[Split]:

    seen: set[str] = set()
    for server in config.servers:
        for location in server.locations:
            action = location.action
            if isinstance(action, Split) and action.name not in seen:
                seen.add(action.name)
                yield action


def _choice(split: Split) -> list[Directive]:
    """One vote per configured rule (``1``, ``0`` or empty), then the decision map."""
    rules, name = split.rules, split.name
    votes: list[str] = []
    found: list[Directive] = []
    if rules.header is not None:
        header = "$http_" + rules.header.lower().replace("-", "_")
        found.append(_vote(header, f"${name}_header", _header_keys(rules)))
        votes.append(f"${name}_header")
    if rules.cookie is not None:
        source, extra = _cookie_source(rules.cookie, name)
        found.extend(extra)
        keys = [(literal("~^always$"), "1"), (literal("~^never$"), "0")]
        found.append(_vote(source, f"${name}_cookie", keys))
        votes.append(f"${name}_cookie")
    share = _percent(min(100.0, rules.weight * 100 / rules.weight_total))
    if share != "0":  # split_clients counts in hundredths of a percent, and refuses 0%
        body = [entry(trusted(f"{share}%"), trusted("1")), entry(trusted("*"), trusted('""'))]
        found.append(
            block("split_clients", [trusted('"${request_id}"'), trusted(f"${name}_weight")], body)
        )
        votes.append(f"${name}_weight")
    found.append(_decision(split, votes))
    return found


def _cookie_source(cookie: str, name: str) -> tuple[str, list[Directive]]:
    """The variable holding the cookie's value, and the map that makes it if nginx has none:
    ``$cookie_<name>`` takes letters, digits and ``_`` only, so another name (``Canary-By-Cookie``)
    is found in the Cookie header, by name case-insensitively as nginx does."""
    if _VARIABLE_NAME.match(cookie):
        return f"$cookie_{cookie}", []
    variable = f"${name}_cookie_value"
    pattern = literal(f"~*(?:^|;)\\s*{re.escape(cookie)}=([^;]*)")
    body = [entry(trusted("default"), trusted('""')), entry(pattern, trusted("$1"))]
    return variable, [block("map", [trusted("$http_cookie"), trusted(variable)], body)]


def _header_keys(rules: CanaryOptions) -> list[tuple[Token, str]]:
    if rules.header_value is not None:
        return [(literal("~^" + re.escape(rules.header_value) + "$"), "1")]
    if rules.header_pattern is not None:
        return [(literal("~" + rules.header_pattern), "1")]
    return [(literal("~^always$"), "1"), (literal("~^never$"), "0")]


def _vote(source: str, target: str, keys: list[tuple[Token, str]]) -> Directive:
    body = [entry(trusted("default"), trusted('""'))]
    body += [entry(key, trusted(value)) for key, value in keys]
    return block("map", [trusted(source), trusted(target)], body)


def _decision(split: Split, votes: list[str]) -> Directive:
    """The votes joined by ``:``; the first non-empty one decides, in precedence order."""
    main, canary = _target(split.main), _target(split.canary)
    body = [entry(trusted("default"), main)]
    for position in range(len(votes)):
        empty_before = ":" * position
        body.append(entry(literal(f"~^{empty_before}1"), canary))
        body.append(entry(literal(f"~^{empty_before}0"), main))
    source = trusted('"' + ":".join(votes) + '"') if votes else trusted('""')
    return block("map", [source, trusted(f"${split.name}")], body)


def _target(action: ProxyToUpstream | ProxyToAddress) -> Token:

    if isinstance(action, ProxyToUpstream):
        return literal(action.upstream)
    return literal(action.address)


def _percent(share: float) -> str:
    return f"{share:.2f}".rstrip("0").rstrip(".") or "0"


HOOKS = Hooks(http=http_directives)
