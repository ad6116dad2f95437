"""How a `Choose` reaches nginx: a ``split_clients`` at http level and an ``error_page`` jump.

nginx cannot pick a location by a variable directly, but ``error_page`` can name a named
location held in a variable: the choosing location answers a private status (418) which its
``error_page`` turns into an internal jump to ``@gw_<digest>_<n>``, keeping the request as it
came (method, URI, headers). The variable is made by ``split_clients`` over the request id, so
each request lands on a choice with the probability its weight gives; or, for a choice by
match, by a ``map`` over the 0 or 1 of each condition's own ``map``. Every token here is made
by this program (variable and location names come from digests, weights are integers),
except the patterns of conditions, which are map keys quoted by quoting.py.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import UnsafeValueError, literal, trusted
from ingress2nginx.model import Choose, Condition, Config

CHOICE_STATUS = 418
"""The status the choosing location answers, turned into the jump by its error_page."""

SHARE_UNITS = 10000
"""split_clients counts in hundredths of a percent."""

_SOURCE = re.compile(r"(http_[a-z0-9_]+|arg_[A-Za-z0-9_]+|args|request_method|uri)\Z")
"""The request variables a condition may test (names built by gateway/conditions.py, and
``uri`` by grpc_routes.py)."""


def choose_directives(action: Choose) -> list[Directive]:
    """The choosing location's directives (before its ``return 418``)."""
    return [
        directive("recursive_error_pages", trusted("on")),
        directive("error_page", CHOICE_STATUS, trusted("="), trusted(f"${action.variable}")),
    ]


def http_directives(config: Config) -> list[Directive]:
    """What the config's `Choose` actions need at http level, in server and location order:
    a ``split_clients`` for each by weight; for each by match, a ``map`` per condition (once
    for the config) and the ``map`` deciding."""
    found: list[Directive] = []
    tested: set[Condition] = set()
    for action in _chooses(config):
        if not action.by_match:
            found.append(_split(action))
            continue
        for choice in action.choices:
            for condition in choice.conditions:
                if condition not in tested:
                    tested.add(condition)
                    found.append(_test(condition))
        found.append(_decision(action))
    return found


def condition_variable(condition: Condition) -> str:
    """The variable that is 1 when `condition` holds, 0 otherwise."""
    text = f"{condition.source}\0{condition.pattern}\0{condition.case_sensitive}"
    return "gw_if_" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _test(condition: Condition) -> Directive:
    """``map $source $gw_if_<digest> { "~pattern" 1; default 0; }``."""
    if not _SOURCE.match(condition.source):
        raise UnsafeValueError(f"not a request variable: {condition.source!r}")
    operator = "~" if condition.case_sensitive else "~*"
    body = [entry(literal(operator + condition.pattern), trusted("1")),
            entry(trusted("default"), trusted("0"))]  # fmt: skip
    source = [trusted(f"${condition.source}"), trusted(f"${condition_variable(condition)}")]
    return block("map", source, body)


def _decision(action: Choose) -> Directive:
    """The map naming the first choice whose conditions all hold: its source is each
    condition's 0 or 1 in a row, each choice a regex with 1 where it needs one."""
    order = list(dict.fromkeys(c for choice in action.choices for c in choice.conditions))
    body = []
    for choice in action.choices:
        if not choice.conditions:
            body.append(entry(trusted("default"), trusted(choice.location)))
            break
        needed = "".join("1" if c in choice.conditions else "." for c in order)
        body.append(entry(trusted(f'"~^{needed}"'), trusted(choice.location)))
    source = "".join(f"${condition_variable(c)}" for c in order)
    return block("map", [trusted(f'"{source}"'), trusted(f"${action.variable}")], body)


def _chooses(config: Config) -> Iterator[Choose]:
    seen: set[str] = set()
    for server in config.servers:
        for location in server.locations:
            action = location.action
            if isinstance(action, Choose) and action.variable not in seen:
                seen.add(action.variable)
                yield action


def _split(action: Choose) -> Directive:
    """``split_clients`` sharing requests by weight; the last choice takes the rest (``*``),
    so rounding never loses a request. Choices whose share rounds to nothing are left out
    (split_clients refuses 0%)."""
    choices = [choice for choice in action.choices if choice.weight > 0]
    total = sum(choice.weight for choice in choices)
    body = []
    for choice in choices[:-1]:
        units = choice.weight * SHARE_UNITS // total
        if units:
            body.append(entry(trusted(f"{units / 100:g}%"), trusted(choice.location)))
    body.append(entry(trusted("*"), trusted(choices[-1].location)))
    source = [trusted('"${request_id}"'), trusted(f"${action.variable}")]
    return block("split_clients", source, body)
