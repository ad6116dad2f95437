"""A host's route matches into locations, with the Gateway API's precedence among them.

nginx picks a location by path alone; a match may also ask for headers, query parameters or
a method. So each location gets every match whose path covers all the requests the location
receives, in the Gateway API's precedence: an Exact path, then the longest PathPrefix; then a
method; then the most headers; then the most query parameters; then the oldest route, the
first by namespace/name, and within a route the first rule and match. When the first of
those asks for nothing but its path, the location does what it does; otherwise it is a
`Choose` by match, handing the request to the first match whose conditions all hold, or to a
404 when none does (or to the first match that asks for nothing more, which ends the list).

Which matches cover a location: for an Exact location ``/p``, the Exact matches of ``/p`` and
the PathPrefix matches of ``/p`` or an element-wise prefix of it; for a prefix location, those
PathPrefix matches; for a RegularExpression location, its own matches and PathPrefix ``/``
(nginx cannot tell statically which other prefixes a regex's requests fall under).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions
from ingress2nginx.model import (
    Action,
    Choice,
    Choose,
    Condition,
    Location,
    Match,
    Origin,
    Respond,
    RouteFilters,
)
from ingress2nginx.normalize.gateway.matching import PathMatch
from ingress2nginx.normalize.locations import Claim

NO_MATCH = Respond(404, "no HTTPRoute rule matches")

ROUTE_OPTIONS = replace(
    DEFAULT_OPTIONS, redirect=replace(DEFAULT_OPTIONS.redirect, preserve_trailing_slash=True)
)
"""What a route's locations ask beyond the model: a redirect to HTTPS keeps the URI exactly
(ingress-nginx's default drops a trailing slash, which the Gateway API does not)."""

Rank = tuple[int, int, int, datetime, str, str, int, int]
"""Precedence among matches of one path: method, headers, query parameters, route age and
name, rule and match index (smaller first)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One route match on one host, waiting for the locations it covers."""

    path: PathMatch
    conditions: tuple[Condition, ...]
    rank: Rank
    action: Action
    named: tuple[Location, ...]
    """Named locations `action` needs (weighted backendRefs)."""
    backend: str
    origin: Origin
    filters: RouteFilters | None = None
    options: IngressOptions = ROUTE_OPTIONS
    """How its locations reach the backend (a GRPCRoute's: gRPC)."""


def rank(headers: int, params: int, method: bool, age: tuple[datetime, str, str],
         rule: int, match: int) -> Rank:  # fmt: skip
    """The precedence key of a match among matches of the same path."""
    return (0 if method else 1, -headers, -params, *age, rule, match)


def layout_claims(host: str, candidates: list[Candidate]) -> tuple[list[Claim], list[Location]]:
    """The claims of a host (one per path key) and the named locations they need."""
    claims, named = [], []
    keys = dict.fromkeys(candidate.path.key for candidate in candidates)
    for key in keys:
        covering = sorted(
            (candidate for candidate in candidates if _covers(candidate.path, key)),
            key=_precedence,
        )
        own = next(candidate for candidate in covering if candidate.path.key == key)
        claim, needed = _claim(host, key, own, covering)
        claims.append(claim)
        named.extend(needed)
    return claims, named


def _covers(path: PathMatch, key: tuple[Match, str]) -> bool:
    if path.key == key:
        return True
    if path.key[0] is not Match.PREFIX:
        return False
    prefix, (form, target) = path.key[1], key
    if form is Match.REGEX_CASE_SENSITIVE:
        return prefix == "/"
    return prefix == "/" or target == prefix or target.startswith(prefix + "/")


def _precedence(candidate: Candidate) -> tuple[int, int, Rank]:
    form, path = candidate.path.key
    return (0 if form is Match.EXACT else 1, -len(path), candidate.rank)


def _claim(
    host: str, key: tuple[Match, str], own: Candidate, covering: list[Candidate]
) -> tuple[Claim, list[Location]]:
    first = covering[0]
    if not first.conditions:
        made = _made(own, first.action, first.backend, first.origin, first.filters, first.options)
        return made, list(first.named)
    digest = hashlib.sha256(f"{host}\0{key[0].value}\0{key[1]}".encode()).hexdigest()[:12]
    variable = f"gw_{digest}"
    named, choices = [], []
    for index, candidate in enumerate(covering):
        location = f"@{variable}_{index}"
        named.append(Location(Match.NAMED, location, candidate.action, candidate.origin,
                              options=candidate.options, filters=candidate.filters))  # fmt: skip
        named.extend(candidate.named)
        choices.append(Choice(location, 1, candidate.backend, candidate.conditions))
        if not candidate.conditions:
            break
    else:
        location = f"@{variable}_none"
        named.append(Location(Match.NAMED, location, NO_MATCH, None))
        choices.append(Choice(location, 1, "404"))
    choose = Choose(variable, tuple(choices), by_match=True)
    return _made(own, choose, choose.service, own.origin), named


def _made(own: Candidate, action: Action, backend: str, origin: Origin,
          filters: RouteFilters | None = None, options: IngressOptions = ROUTE_OPTIONS,
          ) -> Claim:  # fmt: skip
    path = own.path
    return Claim(path.path_type, path.key[1], path.regex, path.value, action, origin, backend,
                 options, regex_match=Match.REGEX_CASE_SENSITIVE, filters=filters)  # fmt: skip
