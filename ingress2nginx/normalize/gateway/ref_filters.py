"""A rule's filters and its backendRefs' own filters, put together for one match.

A rule with one backendRef proxies from the match's location: that location gets the rule's
filters and the backendRef's (its header changes after the rule's). A rule with weighted
backendRefs only chooses there: each backendRef's named location proxies, so that is where
filters must be, or nginx would drop them; each gets the rule's filters with its own, and as
the rule's depend on the match (a prefix rewrite), the choice and its named locations are made
per match, named after the match's filters. The choosing location itself keeps none (it
proxies nothing; a mirror there would never be sent).
"""

from __future__ import annotations

from dataclasses import replace

from ingress2nginx.model import Action, Choice, Choose, Location, RouteFilters
from ingress2nginx.normalize.gateway.backend_refs import RuleBackend

Placed = tuple[Action, tuple[Location, ...], RouteFilters | None]
"""What a match's location does, the named locations it needs, and its own filters."""


def placed(backend: RuleBackend, filters: RouteFilters | None) -> Placed:
    """Where the filters of one match (`filters`, the rule's) and of its backendRefs go."""
    action = backend.action
    if not isinstance(action, Choose) or action.by_match:
        return action, backend.named, merged(filters, backend.filters)
    if filters is None:
        return action, backend.named, None
    variable = f"{filters.name}_w"
    named, choices = [], []
    for location, choice in zip(backend.named, action.choices, strict=True):
        index = location.path.rpartition("_")[2]
        own = merged(filters, location.filters)
        path = f"@{variable}_{index}"
        named.append(replace(location, path=path, filters=replace(own, name=f"{variable}{index}")
                             if own is not None else None))  # fmt: skip
        choices.append(Choice(path, choice.weight, choice.service, choice.conditions))
    return replace(action, variable=variable, choices=tuple(choices)), tuple(named), None


def merged(rule: RouteFilters | None, ref: RouteFilters | None) -> RouteFilters | None:
    """The rule's filters with a backendRef's header changes after its own (keeping the
    rule's name); the backendRef's alone when the rule has none."""
    if ref is None or rule is None:
        return rule or ref
    return replace(
        rule,
        request_headers=rule.request_headers + ref.request_headers,
        response_headers=rule.response_headers + ref.response_headers,
    )
