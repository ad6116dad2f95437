"""A host's winning path claims laid out as nginx locations.

nginx picks an exact ``location =`` first, then the longest plain prefix, then — unless that
prefix says ``^~`` — the first regex location that matches, in file order. Kubernetes says:
the longest matching path wins, Exact beats Prefix on a tie, and Prefix matches element-wise.

On an ordinary host, ``Prefix /foo`` becomes ``= /foo`` plus ``/foo/``: a prefix ending in
``/`` cannot match across an element boundary, and the exact twin keeps nginx from answering
``/foo`` with its automatic 301. nginx's own choice among these *is* the Kubernetes rule.

On a host where some Ingress uses regex paths (use-regex, rewrite-target), ingress-nginx makes
every path of the host a regex and orders them longest first, because regexes would otherwise
win over any plain prefix. ingress2nginx does the same, but keeps Kubernetes semantics for the
Exact and Prefix paths: Exact stays ``= /foo``, Prefix becomes the case-sensitive, anchored,
element-wise regex ``~ "^/foo(/|$)"``; every ImplementationSpecific path of the host becomes
``~* "^<path>"`` as in ingress-nginx (one that is not a valid regex stays element-wise).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from ingress2nginx.features import IngressOptions
from ingress2nginx.features.auth import BasicAuthOptions
from ingress2nginx.features.external_auth import ExternalAuthOptions
from ingress2nginx.model import (
    Action,
    ErrorPages,
    Location,
    Match,
    Origin,
    PathType,
    ProxyToAddress,
    ProxyToUpstream,
    RouteFilters,
    StandIn,
)
from ingress2nginx.normalize.paths import regex_path_problem

ACME_CHALLENGE = "/.well-known/acme-challenge"
"""Paths under it are never redirected to HTTPS, so ACME HTTP-01 challenges keep working."""


@dataclass(frozen=True, slots=True)
class Claim:
    """An Ingress path that won its host + path + type."""

    path_type: PathType
    path: str
    """What nginx compares: decoded, no trailing / for Prefix (except ``/``); for regex
    claims the regex as written."""
    regex: bool
    """A regex path (ImplementationSpecific in an Ingress with use-regex or rewrite-target)."""
    ingress_path: str
    """The path as the Ingress wrote it."""
    action: Action
    origin: Origin
    backend: str
    """The Service (``namespace/name:port``) or the fixed answer, for ``explain``."""
    options: IngressOptions
    error_pages: ErrorPages | None = None
    """custom-http-errors, once the error backend is known."""
    service: tuple[str, str] = ("", "")
    """The rule's Service name and port as written (told to error backends)."""
    stand_in: ProxyToUpstream | ProxyToAddress | None = None
    """The default-backend annotation's Service, resolved."""
    standing_in: bool = False
    """`action` is `stand_in`: the rule's Service has no ready endpoint."""
    regex_match: Match = Match.REGEX
    """How a regex claim compares: case-insensitively (ingress-nginx's use-regex), or
    case-sensitively (a Gateway API RegularExpression path)."""
    filters: RouteFilters | None = None
    """A Gateway API rule's filters."""


@dataclass(frozen=True, slots=True)
class Redirects:
    """What decides whether a location redirects plain HTTP to HTTPS."""

    secure: bool
    """The host has a usable certificate of its own."""
    ssl_redirect: bool
    """The global ssl-redirect option."""

    def wanted(self, options: IngressOptions, path: str) -> bool:
        """ssl-redirect (per Ingress, else global) on secure hosts; force-ssl-redirect always;
        never under the ACME challenge path."""
        if path.startswith(ACME_CHALLENGE):
            return False
        chosen = options.redirect.ssl_redirect
        enabled = self.ssl_redirect if chosen is None else chosen
        return options.redirect.force_ssl_redirect or (self.secure and enabled)


def layout(
    claims: Iterable[Claim],
    fallback: tuple[Action, Origin | None],
    redirects: Redirects,
    no_auth: tuple[str, ...] = (),
) -> tuple[Location, ...]:
    """Every location of one host, in output order; `fallback` (an action and where it comes
    from) answers ``/`` when no claim does. Paths starting with one of `no_auth` ask for no
    authentication."""
    claims = list(claims)
    regex_host = any(claim.regex for claim in claims)
    found: dict[tuple[Match, str], Location] = {}
    for claim in sorted(claims, key=lambda c: c.path_type is not PathType.EXACT):
        forms = [form for form in _forms(claim, regex_host) if form not in found]
        if not forms:
            continue
        https_redirect = redirects.wanted(claim.options, claim.path)
        options = _authenticated(claim, no_auth)
        stand_in = StandIn(*claim.service) if claim.standing_in else None
        for match, path in forms:
            found[(match, path)] = Location(
                match,
                path,
                claim.action,
                claim.origin,
                https_redirect,
                options,
                claim.ingress_path,
                claim.error_pages,
                stand_in,
                claim.service,
                claim.filters,
            )
    if (Match.PREFIX, "/") not in found:  # (most hosts have a claim for /)
        https_redirect = redirects.secure and redirects.ssl_redirect
        found[(Match.PREFIX, "/")] = Location(Match.PREFIX, "/", *fallback, https_redirect)
    if not regex_host:
        _shield_from_auto_redirect(found)
    return tuple(sorted(found.values(), key=_SORT_KEY))


_SORT_KEY = attrgetter("sort_key")
"""`Location.sort_key`, as a sort key."""


def _authenticated(claim: Claim, no_auth: tuple[str, ...]) -> IngressOptions:
    """The claim's options, without basic and external auth when its path (as the Ingress
    wrote it) starts with one of `no_auth` (no-auth-locations, as ingress-nginx compares).
    A denied setting stays denied: the path still answers 503 rather than opening."""
    options = claim.options
    if not claim.ingress_path.startswith(no_auth):
        return options
    changes: dict[str, Any] = {}
    if options.auth.denied is None and options.auth != BasicAuthOptions():
        changes["auth"] = BasicAuthOptions()
    if options.external_auth.denied is None and options.external_auth.plan is not None:
        changes["external_auth"] = ExternalAuthOptions()
    return replace(options, **changes) if changes else options


def _forms(claim: Claim, regex_host: bool) -> list[tuple[Match, str]]:
    """The (match, path) locations one claim needs. Exact claims come first in `layout`, so
    they win the ``= /foo`` form on a tie with Prefix."""
    if claim.regex:
        return [(claim.regex_match, "^" + claim.path.removeprefix("^"))]
    if claim.path_type is PathType.EXACT:
        return [(Match.EXACT, claim.path)]
    if claim.path == "/":
        return [(Match.PREFIX, "/")]
    if regex_host and _usable_as_regex(claim):
        # An ImplementationSpecific path on a use-regex host is a regex, whichever Ingress
        # wrote it (ingress-nginx makes the whole host regex).
        return [(Match.REGEX, "^" + claim.ingress_path.removeprefix("^"))]
    if regex_host:
        return [(Match.REGEX_CASE_SENSITIVE, f"^{re.escape(claim.path)}(/|$)")]
    return [(Match.EXACT, claim.path), (Match.PREFIX, claim.path + "/")]


def _usable_as_regex(claim: Claim) -> bool:
    return (
        claim.path_type is PathType.IMPLEMENTATION_SPECIFIC
        and bool(claim.ingress_path)
        and regex_path_problem(claim.ingress_path) is None
    )


def _shield_from_auto_redirect(locations: dict[tuple[Match, str], Location]) -> None:
    """Keep nginx from answering ``/foo`` with a 301 because ``location = /foo/`` exists.

    nginx redirects a request for a location's path minus its trailing slash to the slashed
    path, for exact locations too. An ``Exact /foo/`` rule must leave ``/foo`` to whatever
    else matches it, so ``/foo`` gets an exact location of its own with that answer: the
    longest prefix location that matches it (there is always ``/``).
    """
    for match, path in list(locations):
        if match is not Match.EXACT or path == "/" or not path.endswith("/"):
            continue
        twin = path[:-1]
        if (Match.EXACT, twin) in locations:
            continue
        prefixes = [
            candidate
            for (kind, prefix), candidate in locations.items()
            if kind is Match.PREFIX and twin.startswith(prefix)
        ]
        chosen = max(prefixes, key=lambda candidate: len(candidate.path))
        locations[(Match.EXACT, twin)] = replace(chosen, match=Match.EXACT, path=twin)
