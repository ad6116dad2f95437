"""How a `Choose` reaches nginx: a ``split_clients`` at http level and an ``error_page`` jump.

nginx cannot pick a location by a variable directly, but ``error_page`` can name a named
location held in a variable: the choosing location answers a private status (418) which its
``error_page`` turns into an internal jump to ``@gw_<digest>_<n>``, keeping the request as it
came (method, URI, headers). The variable is made by ``split_clients`` over the request id, so
each request lands on a choice with the probability its weight gives. Every token here is
made by this program: variable and location names come from digests, weights are integers.
"""

from __future__ import annotations

from collections.abc import Iterator

from ingress2nginx.directives import Directive, block, directive, entry
from ingress2nginx.model import Choose, Config
from ingress2nginx.quoting import trusted

CHOICE_STATUS = 418
"""The status the choosing location answers, turned into the jump by its error_page."""

SHARE_UNITS = 10000
"""split_clients counts in hundredths of a percent."""


def choose_directives(action: Choose) -> list[Directive]:
    """The choosing location's directives (before its ``return 418``)."""
    return [
        directive("recursive_error_pages", trusted("on")),
        directive("error_page", CHOICE_STATUS, trusted("="), trusted(f"${action.variable}")),
    ]


def http_directives(config: Config) -> list[Directive]:
    """One ``split_clients`` per `Choose` of the config, in server and location order."""
    return [_split(action) for action in _chooses(config)]


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
