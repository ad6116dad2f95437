"""load-balance, upstream-hash-by(-subset/-size), service-upstream: how an upstream picks an
endpoint, and which endpoints it has.

In ingress-nginx these are annotations of an Ingress, but they act on the upstream: one
Service port, shared by every location (of any Ingress) that proxies to it. So an Ingress's
options become a request (`requested`) that backends.py settles per upstream: the oldest
Ingress that asks for anything decides, Ingresses asking for nothing follow, and a younger
Ingress asking for something else is reported and ignored for that upstream. Within one
Ingress ingress-nginx's precedence holds: cookie affinity (affinity.py), then
upstream-hash-by, then load-balance, then the global ``load-balance`` (round_robin).

Stock nginx balances with ``least_conn;`` and ``hash <key> consistent;`` (ketama consistent
hashing, as ingress-nginx's chash); round_robin is its default and writes nothing. Without
endpoints in the input (DNS fallback, ExternalName) there is no upstream block and none of
this can apply: backends.py warns. docs/balancing.md tells the whole story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import interpolated, trusted, variable
from ingress2nginx.features.affinity import key_variable
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    AnnotationValueIgnored,
    partly,
    refused,
    supported,
)
from ingress2nginx.features.values import parse_bool

if TYPE_CHECKING:
    from ingress2nginx.features import IngressOptions

METHODS = ("round_robin", "least_conn")
"""load-balance values nginx implements."""
LUA_ONLY_METHODS = ("ewma", "chash", "chashsubset", "sticky_balanced", "sticky_persistent")
"""load-balance values ingress-nginx accepts that only its Lua balancer implements."""

KNOWN_VARIABLES = frozenset({
    "args", "best_http_host", "binary_remote_addr", "content_length", "content_type",
    "document_uri", "host", "hostname", "https", "is_args", "query_string", "remote_addr",
    "remote_port", "remote_user", "request_id", "request_method", "request_uri", "scheme",
    "server_addr", "server_name", "server_port", "server_protocol", "uri",
})  # fmt: skip
"""Variables upstream-hash-by may use by name: request properties nginx always defines."""
VARIABLE_FAMILIES = ("http_", "cookie_", "arg_")
"""Prefixes of variables upstream-hash-by may use with any name: a request header, a cookie,
a query argument."""

_KEY_PART = re.compile(
    r"\$\{(?P<braced>[A-Za-z0-9_]+)\}|\$(?P<bare>[A-Za-z0-9_]+)|(?P<text>[A-Za-z0-9_-]+)"
)
_FAMILY_MEMBER = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
_MAX_KEY = 256


def hash_key(value: str) -> tuple[str, ...]:
    """upstream-hash-by: nginx variables (``$name`` or ``${name}``) and text (letters,
    digits, ``-``, ``_``), as ingress-nginx's validator allows; only variables of the
    allowlist, and names read as nginx reads them (``$hostx`` is the variable ``hostx``).

    Returns the parts in order: ``$name`` for a variable, the text otherwise.
    """
    text = value.strip()
    parts: list[str] = []
    position = 0
    while position < len(text) and len(text) <= _MAX_KEY:
        found = _KEY_PART.match(text, position)
        if found is None:
            break
        name = found.group("braced") or found.group("bare")
        if name is not None:
            _check_variable(name)
            parts.append("$" + name)
        else:
            parts.append(found.group("text"))
        position = found.end()
    if not parts or position != len(text):
        raise AnnotationValueError(
            "must be nginx variables ($name or ${name}) and text of letters, digits, - and _,"
            " like $request_uri or ${http_x_user}-v1"
        )
    if not any(part.startswith("$") for part in parts):
        raise AnnotationValueError("must use at least one variable (text alone hashes alike)")
    return tuple(parts)


def _check_variable(name: str) -> None:
    if name in KNOWN_VARIABLES:
        return
    for family in VARIABLE_FAMILIES:
        member = name[len(family) :]
        if name.startswith(family) and _FAMILY_MEMBER.match(member):
            return
    allowed = ", ".join(f"${family}<name>" for family in VARIABLE_FAMILIES)
    raise AnnotationValueError(f"${name} is not allowed; use {allowed} or a request variable")


def load_balance(value: str) -> str:
    """load-balance: round_robin or least_conn; ingress-nginx's Lua-only methods are ignored
    with a warning (nginx then balances round_robin)."""
    text = value.strip()
    if text in METHODS:
        return text
    if text in LUA_ONLY_METHODS:
        raise AnnotationValueIgnored(
            f"{text} needs ingress-nginx's Lua balancer (round_robin is used instead;"
            " upstream-hash-by and affinity ask for hashing)"
        )
    raise AnnotationValueError(f"must be one of {', '.join(METHODS)}")


@dataclass(frozen=True, slots=True)
class BalancingOptions:
    """What one Ingress asks of the upstreams it proxies to."""

    load_balance: str | None = None
    """``load-balance``; None follows the global ``load-balance``."""
    hash_by: tuple[str, ...] | None = None
    """``upstream-hash-by``: the key's parts (``$name`` or text); wins over load-balance."""
    service_upstream: bool = False
    """``service-upstream``: proxy to the Service's ClusterIP, not to its endpoints."""


@dataclass(frozen=True, slots=True)
class Balancing:
    """How an upstream picks an endpoint; the same for every location proxying to it."""

    method: str = "round_robin"
    """``round_robin`` (nginx's default), ``least_conn`` or ``hash``."""
    key: tuple[str, ...] = ()
    """For ``hash``: variable references (``$name``) and text, in order."""
    cookie: str | None = None
    """The session-affinity cookie whose value is the key (affinity: cookie)."""


DEFAULT_BALANCING = Balancing()

ANNOTATIONS: tuple[Annotation, ...] = (
    partly(
        "load-balance",
        "How the Service port's upstream picks an endpoint: round_robin or least_conn.",
        "least_conn is an addition (today's ingress-nginx no longer accepts it); ewma and the"
        " internal chash, chashsubset, sticky_balanced, sticky_persistent need ingress-nginx's"
        " Lua balancer and are ignored with a warning (round_robin). It is a property of the"
        " Service port: when Ingresses sharing one disagree, the oldest asking wins (reported).",
        "balancing.load_balance",
        load_balance,
    ),
    partly(
        "upstream-hash-by",
        "Consistent hashing (hash <key> consistent) of nginx variables and text, e.g."
        " $request_uri, $binary_remote_addr, $http_x_user, ${cookie_id}-v1.",
        "variables are limited to request properties and $http_*, $cookie_*, $arg_*; it is a"
        " property of the Service port: when Ingresses sharing one disagree, the oldest asking"
        " wins (reported).",
        "balancing.hash_by",
        hash_key,
    ),
    refused(
        "upstream-hash-by-subset",
        "Hash keys to a group of endpoints, then pick one of the group at random.",
        "stock nginx's hash picks one endpoint per key; groups need ingress-nginx's Lua"
        " balancer (upstream-hash-by alone still applies)",
    ),
    refused(
        "upstream-hash-by-subset-size",
        "Size of the groups of upstream-hash-by-subset (default 3).",
        "upstream-hash-by-subset is not supported",
    ),
    supported(
        "service-upstream",
        "Proxy to the Service's ClusterIP and port (one server, balanced by kube-proxy)"
        " instead of to its endpoints (Ingresses without it keep the endpoints); without a"
        " ClusterIP (headless) the endpoints, with a warning; without the Service's endpoints"
        " in the input nginx resolves the Service's DNS name, which gives the ClusterIP too.",
        "balancing.service_upstream",
        parse_bool,
    ),
)


def requested(options: IngressOptions) -> Balancing | None:
    """The balancing an Ingress asks for, in ingress-nginx's precedence; None for none."""
    affinity = options.affinity
    if affinity.kind == "cookie":
        cookie = affinity.cookie_name
        return Balancing("hash", ("$" + key_variable(cookie),), cookie)
    balancing = options.balancing
    if balancing.hash_by is not None:
        return Balancing("hash", balancing.hash_by)
    if balancing.load_balance is not None:
        return Balancing(balancing.load_balance)
    return None


def upstream_directive(balancing: Balancing) -> Directive | None:
    """The method directive inside an ``upstream`` block (before ``keepalive``, as nginx
    requires); None for round_robin."""
    if balancing.method == "least_conn":
        return directive("least_conn")
    if balancing.method == "hash":
        key = interpolated(*(_key_part(part) for part in balancing.key))
        return directive("hash", key, trusted("consistent"))
    return None


def _key_part(part: str) -> str:
    return variable(part[1:]) if part.startswith("$") else part


def describe(balancing: Balancing) -> str:
    """The balancing in a few words, for messages."""
    if balancing.cookie is not None:
        return f"cookie affinity ({balancing.cookie})"
    if balancing.method == "hash":
        return f"hash by {''.join(balancing.key)}"
    return balancing.method
