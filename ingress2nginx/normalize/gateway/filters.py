"""A rule's ``filters`` read and checked into `RouteFilters` (per match: a prefix rewrite
depends on the prefix the request matched).

Supported: RequestHeaderModifier and ResponseHeaderModifier (set, add, remove), RequestRedirect
(scheme, hostname, port, path ReplaceFullPath and ReplacePrefixMatch, statusCode 301, 302,
303, 307, 308), URLRewrite (hostname, path), RequestMirror (all requests, or the share
``percent`` or ``fraction`` asks for), and ``timeouts``. Any other filter (ExtensionRef...)
cannot be honoured: the rule's requests get 500, as the Gateway API asks, rather than being
served without it. Names are letters, digits and ``-``; values must hold no ``$`` (nginx
would expand it) nor control characters; hostnames are DNS names; paths are checked as
paths are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ingress2nginx.core.errors import shown
from ingress2nginx.core.grammar import host_problem, refused_characters
from ingress2nginx.model import HeaderChange, Match, PathChange, RedirectTo, RouteFilters
from ingress2nginx.normalize.gateway.matching import PathMatch
from ingress2nginx.normalize.gateway.shapes import listed
from ingress2nginx.normalize.paths import path_problem

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MIRROR_ALL = 10000
"""A RequestMirror copying every request (shares are in hundredths of a percent, as
``split_clients`` counts)."""
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,256}\Z")
_DURATION = re.compile(
    r"(?:([0-9]{1,5})h)?(?:([0-9]{1,5})m)?(?:([0-9]{1,5})s)?(?:([0-9]{1,5})ms)?\Z"
)


@dataclass(frozen=True, slots=True)
class RuleFilters:
    """What a rule's filters ask for, before a match's prefix is known."""

    filters: RouteFilters | None
    redirect_status: int | None = None
    """The RequestRedirect's status: the rule answers with a redirect."""
    unusable: str = ""
    """A filter nginx cannot honour: the rule answers 500."""
    notes: tuple[tuple[str, str], ...] = ()
    """(field, reason) of filters left out, to report."""
    mirrors: tuple[tuple[str, Mapping[str, Any], int], ...] = ()
    """(field, backendRef, share in hundredths of a percent) of each RequestMirror,
    resolved by building.py."""


def read_filters(rule: Mapping[str, Any], index: int) -> RuleFilters | tuple[str, str]:
    """The rule's filters, or (field, reason) when one is invalid (the rule is left out)."""
    entries = rule.get("filters") or []
    timeout = _timeout(rule.get("timeouts"))
    if isinstance(timeout, tuple):
        return (f"spec.rules[{index}].timeouts.{timeout[0]}", timeout[1])
    if not entries and timeout is None:
        return RuleFilters(None)
    parts: dict[str, Any] = {"name": "", "timeout": timeout}
    notes: list[tuple[str, str]] = []
    status, unusable = None, ""
    mirrors: list[tuple[str, Mapping[str, Any], int]] = []
    for position, entry in enumerate(entries if isinstance(entries, list) else []):
        where = f"spec.rules[{index}].filters[{position}]"
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        read = _READERS.get(kind) if isinstance(kind, str) else None
        if kind == "RequestMirror":
            mirror = _mirror(entry.get("requestMirror"))
            if isinstance(mirror, str):
                return (where, mirror)
            if mirror[1]:  # percent 0 mirrors nothing
                mirrors.append((f"{where}.requestMirror.backendRef", *mirror))
            continue
        if read is None:
            unusable = f"{where}: filter type {shown(kind)} cannot be honoured"
            continue
        settings = entry.get(_FIELDS[str(kind)])
        found = read(settings if isinstance(settings, Mapping) else {}, parts)
        if found:
            return (where, found)
        if kind == "RequestRedirect":
            status = parts.pop("status")
    if "redirect" in parts and "path" in parts:
        return (f"spec.rules[{index}].filters", "RequestRedirect and URLRewrite exclude each other")
    return RuleFilters(RouteFilters(**parts), status, unusable, tuple(notes), tuple(mirrors))


BACKEND_REF_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier")
"""The filters a backendRef may hold here: its own location can change its headers."""


def backend_ref_filters(ref: Mapping[str, Any], name: str) -> RouteFilters | str | None:
    """A backendRef's own filters, named `name`; None without any; why not when one is not
    among `BACKEND_REF_FILTERS` or is invalid (it must not be skipped)."""
    entries = listed(ref.get("filters"))
    if not entries:
        return None
    parts: dict[str, Any] = {"name": name}
    for position, entry in enumerate(entries):
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if kind not in BACKEND_REF_FILTERS:
            reason = f"filter type {shown(kind)} on a backendRef cannot be honoured"
            return f"filters[{position}]: {reason}"
        settings = entry.get(_FIELDS[str(kind)])
        trouble = _READERS[str(kind)](settings if isinstance(settings, Mapping) else {}, parts)
        if trouble:
            return f"filters[{position}]: {trouble}"
    return RouteFilters(**parts)


def for_match(filters: RouteFilters, match: PathMatch, name: str) -> RouteFilters | str:
    """The filters for one match, named `name`: a prefix replacement learns the prefix the
    match compares (and needs a PathPrefix match)."""
    path, redirect = filters.path, filters.redirect
    prefix_rewrite = path is not None and not path.full
    prefix_redirect = redirect is not None and redirect.path is not None and not redirect.path.full
    if (prefix_rewrite or prefix_redirect) and match.key[0] is not Match.PREFIX:
        return "ReplacePrefixMatch needs a PathPrefix match"
    prefix = match.key[1]
    if path is not None and prefix_rewrite:
        path = PathChange(False, path.value, prefix)
    if redirect is not None and redirect.path is not None and prefix_redirect:
        redirect = replace(redirect, path=PathChange(False, redirect.path.value, prefix))
    return replace(filters, name=name, path=path, redirect=redirect)


def redirect_port(filters: RouteFilters, port: int) -> RouteFilters:
    """The filters of a rule served on a listener's own port: a redirect keeping the scheme
    names that port (the Gateway API's listener port), unless it names one itself."""
    redirect = filters.redirect
    if redirect is None or redirect.port is not None or redirect.scheme is not None:
        return filters
    return replace(filters, redirect=replace(redirect, port=port))


def _headers(value: Mapping[str, Any], parts: dict[str, Any], key: str) -> str:
    changes = []
    for how in ("set", "add"):
        for item in listed(value.get(how)):
            if not isinstance(item, Mapping):
                return f"{how}: entries must be name and value"
            name, text = item.get("name"), item.get("value")
            trouble = _name(name) or _text(text)
            if trouble:
                return f"{how}: {trouble}"
            changes.append(HeaderChange(how, str(name), str(text)))
    for name in listed(value.get("remove")):
        trouble = _name(name)
        if trouble:
            return f"remove: {trouble}"
        changes.append(HeaderChange("remove", str(name)))
    parts[key] = tuple(changes)
    return ""


def _request_headers(value: Mapping[str, Any], parts: dict[str, Any]) -> str:
    return _headers(value, parts, "request_headers")


def _response_headers(value: Mapping[str, Any], parts: dict[str, Any]) -> str:
    return _headers(value, parts, "response_headers")


def _redirect(value: Mapping[str, Any], parts: dict[str, Any]) -> str:
    scheme, hostname, port = value.get("scheme"), value.get("hostname"), value.get("port")
    status = value.get("statusCode", 302)
    if scheme not in (None, "http", "https"):
        return f"scheme {shown(scheme)} is not http or https"
    if hostname is not None and (not isinstance(hostname, str) or host_problem(hostname)
                                 or hostname.startswith("*")):  # fmt: skip
        return f"hostname {shown(hostname)} is not a DNS name"
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        return f"port {shown(port)} is not a port number"
    if not isinstance(status, int) or status not in REDIRECT_STATUSES:
        return f"statusCode {shown(status)} is not one of 301, 302, 303, 307, 308"
    path = _path(value.get("path"))
    if isinstance(path, str):
        return path
    parts["redirect"] = RedirectTo(scheme, hostname, port, path)
    parts["status"] = status
    return ""


def _rewrite(value: Mapping[str, Any], parts: dict[str, Any]) -> str:
    hostname = value.get("hostname")
    if hostname is not None:
        if not isinstance(hostname, str) or host_problem(hostname) or hostname.startswith("*"):
            return f"hostname {shown(hostname)} is not a DNS name"
        parts["host"] = hostname
    path = _path(value.get("path"))
    if isinstance(path, str):
        return path
    if path is not None:
        parts["path"] = path
    return ""


def _path(value: object) -> PathChange | str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return "path must be an object"
    kind = value.get("type")
    if kind == "ReplaceFullPath":
        text, full = value.get("replaceFullPath"), True
    elif kind == "ReplacePrefixMatch":
        text, full = value.get("replacePrefixMatch"), False
    else:
        return f"path type {shown(kind)} is not ReplaceFullPath or ReplacePrefixMatch"
    text = "/" if text in (None, "") and not full else text
    if not isinstance(text, str) or "$" in text:
        return f"path {shown(text)}: must be a path without '$'"
    trouble = path_problem(text, "Prefix")
    return f"path {shown(text)}: {trouble}" if trouble else PathChange(full, text)


def _mirror(value: object) -> tuple[Mapping[str, Any], int] | str:
    """A RequestMirror's backendRef and the share of requests it copies (hundredths of a
    percent: ``percent``, or ``fraction`` numerator over denominator, default 100%)."""
    ref = value.get("backendRef") if isinstance(value, Mapping) else None
    if not isinstance(value, Mapping) or not isinstance(ref, Mapping):
        return "RequestMirror needs a backendRef"
    percent, fraction = value.get("percent"), value.get("fraction")
    if percent is not None and fraction is not None:
        return "RequestMirror takes percent or fraction, not both"
    if percent is not None:
        share = _count(percent)
        if share is None or share > 100:
            return f"percent {shown(percent)} is not a whole number from 0 to 100"
        return ref, share * MIRROR_ALL // 100
    if fraction is None:
        return ref, MIRROR_ALL
    numerator = _count(fraction.get("numerator")) if isinstance(fraction, Mapping) else None
    denominator = _count(fraction.get("denominator", 100)) if isinstance(fraction, Mapping) else 0
    if numerator is None or not denominator or numerator > denominator:
        return "fraction needs a numerator from 0 to its denominator, which must be above 0"
    return ref, numerator * MIRROR_ALL // denominator


def _count(value: object) -> int | None:
    """A whole number of 0 or more, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _timeout(value: object) -> str | tuple[str, str] | None:
    """``backendRequest`` (else ``request``) as an nginx time; (field, reason) if invalid.
    A zero duration turns the timeout off, as the Gateway API asks: None, so nginx's
    configured proxy timeouts apply (nginx has no unlimited one, and would time out a zero
    at once)."""
    if not isinstance(value, Mapping):
        return None
    for field in ("backendRequest", "request"):
        text = value.get(field)
        if text is None:
            continue
        found = _DURATION.match(text) if isinstance(text, str) and text else None
        if not found:
            return (field, f"{shown(text)} is not a Gateway API duration (such as 10s or 1m30s)")
        if not any(amount and int(amount) for amount in found.groups()):
            return None
        units = ("h", "m", "s", "ms")
        return "".join(
            f"{amount}{unit}" for amount, unit in zip(found.groups(), units, strict=True) if amount
        )
    return None


def _name(name: object) -> str:
    if isinstance(name, str) and _HEADER_NAME.match(name):
        return ""
    return f"header name {shown(name)}: only letters, digits and '-' are supported"


def _text(text: object) -> str:
    if not isinstance(text, str):
        return "the value must be a string"
    if "$" in text:
        return f"value {shown(text)}: '$' is not supported (nginx would expand it)"
    return refused_characters(text) or ""


_READERS = {
    "RequestHeaderModifier": _request_headers,
    "ResponseHeaderModifier": _response_headers,
    "RequestRedirect": _redirect,
    "URLRewrite": _rewrite,
}
_FIELDS = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
}
