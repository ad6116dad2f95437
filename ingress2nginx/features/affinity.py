"""affinity: cookie and the session-cookie-* annotations, with stock nginx.

ingress-nginx keeps a client on one endpoint with a cookie its Lua balancer reads; nginx's own
``sticky`` directive is NGINX Plus only. ingress2nginx emulates it with consistent hashing: the
upstream hashes on ``$affinity_<cookie>`` (``hash ... consistent``, set by balancing.py), which a
``map`` makes the cookie's value when the request carries one, else ``$request_id``, a fresh
random value. Locations of the Ingresses asking for affinity answer a request without the
cookie with ``Set-Cookie: <name>=<that same $request_id>`` and the attributes asked for, so
every later request with the cookie hashes to the same endpoint, and different cookies spread
over all of them. The cookie value names no endpoint: when endpoints come and go, consistent
hashing moves only the sessions of the endpoints concerned (ingress-nginx's ``balanced``
mode, also used for ``persistent``).

The cookie is set by ``add_header ... always``; views.py repeats the server's own add_header
lines (HSTS) in such locations, since nginx would otherwise drop them there.

session-cookie-expires asks for an ``Expires`` date, now plus that many seconds, which no
stock nginx variable holds. nginx's userid module writes exactly that date
(``userid_expires``, in the format ingress-nginx's Lua writes), so a location whose cookie
attributes are the same for every request (Secure asked for, or only HTTPS reaching it, and
no per-browser SameSite) hands out the cookie with ``userid`` instead. Its value is then
userid's own; the hash key is userid's reading of it (``$uid_got``, or ``$uid_set`` on the
request that creates it: the same text for the same cookie), and ``userid log`` at http
level lets the other locations read it alike. userid writes no Max-Age, so
session-cookie-max-age rides on ``userid_path``, which nginx copies as written. See
docs/balancing.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.quoting import Token, compose, literal, trusted, variable
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    partly,
    refused,
    supported,
)
from ingress2nginx.features.values import choice, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, Location

DEFAULT_COOKIE = "INGRESSCOOKIE"
SECURE_VARIABLE = "$affinity_secure"
"""``; Secure`` on HTTPS requests (ingress-nginx's default without session-cookie-secure)."""
SAMESITE_NONE_VARIABLE = "$affinity_samesite_none"
"""``; SameSite=None``, except for browsers known to reject it (conditional-samesite-none)."""

SAMESITE_NONE_INCOMPATIBLE = (
    "~Chrome/[456]",
    "~CPU iPhone OS 12",
    "~iPad; CPU OS 12",
    "~^(?=.*Macintosh)(?=.*Intel Mac OS X 10_14)(?=.*Safari)(?!.*Chrome)",
)
"""User agents ingress-nginx sends no SameSite=None to (its util/same_site.lua)."""

_COOKIE_NAME = re.compile(r"[A-Za-z0-9._~-]{1,64}\Z")
_COOKIE_PATH = re.compile(r"/[A-Za-z0-9._~%/:@+=!*&-]{0,255}\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_COOKIE_DOMAIN = re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*\Z")
_SECONDS = re.compile(r"(?:0|-?[1-9][0-9]{0,9})\Z")


def cookie_name(value: str) -> str:
    """A cookie name (RFC 6265 token characters nginx and browsers agree on)."""
    text = value.strip()
    if not _COOKIE_NAME.match(text):
        raise AnnotationValueError("must be a cookie name: letters, digits, '.', '_', '~', '-'")
    return text


def cookie_path(value: str) -> str:
    """A cookie Path: an absolute URL path without ``;``, ``$``, quotes or spaces."""
    text = value.strip()
    if not _COOKIE_PATH.match(text):
        raise AnnotationValueError("must be a URL path starting with /, like /app")
    return text


def cookie_domain(value: str) -> str:
    """A cookie Domain: a host name, optionally with a leading dot."""
    text = value.strip()
    if len(text) > 253 or not _COOKIE_DOMAIN.match(text):
        raise AnnotationValueError("must be a domain name like example.com or .example.com")
    return text


def cookie_seconds(value: str) -> int:
    """A number of seconds, as ingress-nginx takes them (negative expires at once)."""
    text = value.strip()
    if not _SECONDS.match(text):
        raise AnnotationValueError("must be a whole number of seconds")
    return int(text)


def same_site(value: str) -> str:
    """None, Lax or Strict, in any case (written capitalized)."""
    return choice("none", "lax", "strict", lower=True)(value).capitalize()


@dataclass(frozen=True, slots=True)
class AffinityOptions:
    """Session affinity asked for by one Ingress; ingress-nginx's defaults."""

    kind: str | None = None
    """``affinity``: ``cookie``, or None for none."""
    mode: str = "balanced"
    """``affinity-mode``: balanced or persistent (both balanced here)."""
    cookie_name: str = DEFAULT_COOKIE
    cookie_path: str | None = None
    """None: the Ingress path (``/`` for regex paths)."""
    cookie_domain: str | None = None
    cookie_max_age: int | None = None
    cookie_expires: int | None = None
    """An Expires date by userid where the attributes allow, else Max-Age (unless max-age
    is set)."""
    cookie_samesite: str | None = None
    conditional_samesite_none: bool = False
    cookie_secure: bool = False
    """Always Secure; otherwise Secure on HTTPS requests only."""
    change_on_failure: bool = False


_PER_SERVICE_PORT = (
    " It is a property of the Service port: when Ingresses sharing one disagree, the oldest"
    " asking wins (reported)."
)

ANNOTATIONS: tuple[Annotation, ...] = (
    partly("affinity", "Keep each client on one endpoint with a cookie: only cookie.",
           "emulated with consistent hashing (hash on the cookie's value, consistent): a"
           " client without the cookie gets a fresh random one; the cookie names no endpoint,"
           " so ingress-nginx's cookies are re-hashed once after migrating." + _PER_SERVICE_PORT,
           "affinity.kind", choice("cookie")),
    partly("affinity-mode", "balanced (default) or persistent stickiness.",
           "persistent behaves as balanced: when endpoints are added, consistent hashing moves"
           " about 1/n of the sessions to them.", "affinity.mode",
           choice("balanced", "persistent")),
    refused("affinity-canary-behavior", "Keep clients served by a canary on the canary.",
            "canary-weight draws every request anew, so canary choice is not sticky (as"
            " legacy)"),
    supported("session-cookie-name", "Name of the affinity cookie (default INGRESSCOOKIE).",
              "affinity.cookie_name", cookie_name),
    supported("session-cookie-path", "Path of the cookie (default: the Ingress path without"
              " a trailing /; / for regex paths).", "affinity.cookie_path", cookie_path),
    supported("session-cookie-domain", "Domain of the cookie.", "affinity.cookie_domain",
              cookie_domain),
    supported("session-cookie-max-age", "Max-Age of the cookie in seconds.",
              "affinity.cookie_max_age", cookie_seconds),
    partly("session-cookie-expires", "Lifetime of the cookie in seconds, as Expires.",
           "Expires is written by nginx's userid module (its own cookie value, Max-Age from"
           " session-cookie-max-age beside it) where Secure is fixed (session-cookie-secure, or"
           " only HTTPS reaches the location) and SameSite is not chosen per browser;"
           " elsewhere as Max-Age (max-age wins when set), which browsers honour the same way."
           " With two such cookie names, or one also handed out by add_header, other"
           " Ingresses following the Service's affinity may hash it elsewhere.",
           "affinity.cookie_expires", cookie_seconds),
    supported("session-cookie-samesite", "SameSite of the cookie: None, Lax or Strict.",
              "affinity.cookie_samesite", same_site),
    supported("session-cookie-conditional-samesite-none", "Leave SameSite=None out for"
              " browsers known to reject it.", "affinity.conditional_samesite_none",
              parse_bool),
    supported("session-cookie-secure", "Mark the cookie Secure on every request (by default"
              " on HTTPS requests only).", "affinity.cookie_secure", parse_bool),
    partly("session-cookie-change-on-failure", "Give a new cookie when the endpoint failed.",
           "either way nginx tries the next endpoint on failure (proxy-next-upstream) and"
           " keeps the cookie, so the session returns to its endpoint once it recovers.",
           "affinity.change_on_failure", parse_bool),
)  # fmt: skip


def key_variable(cookie: str) -> str:
    """Name of the variable holding the hash key for `cookie`: a pure function of the name
    (readable part plus digest; nginx variable names ignore case, cookie names do not)."""
    slug = re.sub(r"[^a-z0-9]+", "_", cookie.lower()).strip("_")[:32]
    digest = hashlib.sha256(cookie.encode()).hexdigest()[:8]
    return f"affinity_{slug}_{digest}" if slug else f"affinity_{digest}"


def _issued_cookie(location: Location) -> str | None:
    """The cookie this location hands out: its upstream (a canary split's main one) hashes
    on the cookie its Ingress asked for (backends.py decides)."""
    action: Any = getattr(location.action, "main", location.action)
    cookie = getattr(action, "affinity_cookie", None)
    return cookie if isinstance(cookie, str) else None


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """Set-Cookie for requests without the cookie, with the Ingress's attributes."""
    cookie = _issued_cookie(location)
    if cookie is None:
        return []
    if _by_userid(location):
        return _userid_directives(cookie, location)
    name = _set_cookie_variable(cookie, _attributes(location))
    return [directive("add_header", trusted("Set-Cookie"), _reference(name), trusted("always"))]


def _by_userid(location: Location) -> bool:
    """Whether the cookie is handed out by nginx's userid module, for its Expires date: when
    session-cookie-expires is a lifetime and every other attribute is fixed for the location
    (userid's are written once, not per request): Secure on every request (asked for, or
    only HTTPS reaches the location) and SameSite not chosen per browser."""
    options = location.options.affinity
    if options.cookie_expires is None or options.cookie_expires <= 0:
        return False
    secure = options.cookie_secure or location.https_redirect
    return secure and not _conditional(location)


def _userid_directives(cookie: str, location: Location) -> list[Directive]:
    """userid hands out `cookie` with Expires now plus session-cookie-expires, and the path,
    domain and flags asked for. Max-Age follows the path: nginx writes userid_path's value
    as given (``; path=/app; Max-Age=3600``), the only way to add an attribute to it."""
    options = location.options.affinity
    path = options.cookie_path or _default_path(location)
    if options.cookie_max_age is not None:
        path += f"; Max-Age={options.cookie_max_age}"
    found = [
        directive("userid", trusted("on")),
        directive("userid_name", literal(cookie)),
        directive("userid_expires", trusted(str(options.cookie_expires))),
        directive("userid_path", literal(path)),
    ]
    if options.cookie_domain is not None:
        found.append(directive("userid_domain", literal(options.cookie_domain)))
    flags = [trusted("httponly"), trusted("secure")]
    if options.cookie_samesite is not None:
        flags.append(trusted("samesite=" + options.cookie_samesite.lower()))
    found.append(directive("userid_flags", *flags))
    return found


def _attributes(location: Location) -> tuple[Token | str, ...]:
    """The cookie's attributes as parts of one value: checked text and trusted variables."""
    options = location.options.affinity
    parts: list[Token | str] = ["; Path=", options.cookie_path or _default_path(location)]
    if options.cookie_domain is not None:
        parts += ["; Domain=", options.cookie_domain]
    lifetime = options.cookie_max_age
    if lifetime is None:
        lifetime = options.cookie_expires
    if lifetime is not None:
        parts.append(f"; Max-Age={lifetime}")
    parts.append("; HttpOnly")
    parts.append("; Secure" if options.cookie_secure else trusted(SECURE_VARIABLE))
    samesite = options.cookie_samesite
    if samesite == "None" and options.conditional_samesite_none:
        parts.append(trusted(SAMESITE_NONE_VARIABLE))
    elif samesite is not None:
        parts.append(f"; SameSite={samesite}")
    return tuple(parts)


def _set_cookie_variable(cookie: str, attributes: tuple[Token | str, ...]) -> str:
    """Name of the variable holding the Set-Cookie value for `cookie` with `attributes`
    (one per cookie and set of attributes: a location's path is among them)."""
    digest = hashlib.sha256("\0".join((cookie, *attributes)).encode()).hexdigest()[:8]
    return f"{key_variable(cookie)}_set_{digest}"


def _default_path(location: Location) -> str:
    """The Ingress path, as ingress-nginx uses it, without a trailing ``/`` (so ``/app``
    carries the cookie too); ``/`` for regex paths and paths a cookie Path cannot carry."""
    path = location.ingress_path.rstrip("/") or "/"
    if location.is_regex or not _COOKIE_PATH.match(path):
        return "/"
    return path


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """The maps behind the hash keys and the Set-Cookie values: one per cookie name, and one
    per cookie and set of attributes handed out."""
    hashed = sorted({u.balancing.cookie for u in config.upstreams if u.balancing.cookie})
    issued: dict[str, tuple[str, tuple[Token | str, ...]]] = {}
    by_userid: set[str] = set()
    conditional = False
    for server in config.servers:
        for location in server.locations:
            cookie = _issued_cookie(location)
            if cookie is not None and _by_userid(location):
                by_userid.add(cookie)
            elif cookie is not None:
                attributes = _attributes(location)
                issued[_set_cookie_variable(cookie, attributes)] = (cookie, attributes)
                conditional = conditional or _conditional(location)
    found = [_key_map(cookie, cookie in by_userid) for cookie in hashed]
    found += [_set_cookie_map(name, *issued[name]) for name in sorted(issued)]
    if issued:
        found.append(_secure_map())
    if conditional:
        found.append(_samesite_none_map())
    return found + _userid_reading(by_userid - {cookie for cookie, _ in issued.values()})


def _userid_reading(only_by_userid: set[str]) -> list[Directive]:
    """``userid log`` for the one cookie only userid hands out: every other location (of
    Ingresses following an upstream's affinity) then reads it as userid does (``$uid_got``)
    and hashes it as the locations that hand it out do. Not with two such cookies (one
    ``userid_name`` per location), nor for a cookie ``add_header`` also hands out (its
    ``$request_id`` values would be read as userid's and hashed apart)."""
    if len(only_by_userid) != 1:
        return []
    (cookie,) = only_by_userid
    return [directive("userid", trusted("log")), directive("userid_name", literal(cookie))]


def _present(cookie: str, value: str) -> Token:
    """A map key matching a Cookie header that carries `cookie` (case-sensitive name)."""
    return literal(r"~(?:^|;\s*)" + cookie.replace(".", r"\.") + "=" + value)


def _key_map(cookie: str, by_userid: bool) -> Directive:
    """``$affinity_<cookie>``: the cookie's value, or this request's fresh random id. Where
    some location hands the cookie out by userid, userid's reading of it comes first: in
    those locations ``$uid_got`` (the cookie) or ``$uid_set`` (the one being handed out) is
    ``<cookie>=<32 hex digits>``, and ``$uid_got`` everywhere ``userid log`` reads it;
    elsewhere both are empty and the Cookie header is read."""
    value = _reference(key_variable(cookie))
    fallback = _entry(trusted("default"), trusted("$request_id"))
    if not by_userid:
        entries = [_entry(_present(cookie, "([^;]+)"), trusted("$1")), fallback]
        return block("map", [trusted("$http_cookie"), value], entries)
    name = cookie.replace(".", r"\.")
    entries = [
        _entry(literal(rf"~^{name}=([0-9A-F]{{32}})\|"), trusted("$1")),
        _entry(literal(rf"~^[^|]*\|(?:|.*;\s*){name}=([^;]+)"), trusted("$1")),
        fallback,
    ]
    return block("map", [trusted('"$uid_got$uid_set|$http_cookie"'), value], entries)


def _set_cookie_map(name: str, cookie: str, attributes: tuple[Token | str, ...]) -> Directive:
    """``$<name>``: empty when the request carries the cookie, else the Set-Cookie value
    giving it the random id the request was hashed by."""
    value = compose(cookie, trusted("=$request_id"), *attributes)
    entries = [
        _entry(_present(cookie, "[^;]"), trusted('""')),
        _entry(trusted("default"), value),
    ]
    return block("map", [trusted("$http_cookie"), _reference(name)], entries)


def _reference(name: str) -> Token:
    """``$name`` for a variable this module names (checked to be a plain variable name)."""
    return trusted("$" + variable(name))


def _secure_map() -> Directive:
    entries = [
        _entry(trusted("on"), trusted('"; Secure"')),
        _entry(trusted("default"), trusted('""')),
    ]
    return block("map", [trusted("$https"), trusted(SECURE_VARIABLE)], entries)


def _samesite_none_map() -> Directive:
    entries = [_entry(literal(agent), trusted('""')) for agent in SAMESITE_NONE_INCOMPATIBLE]
    entries.append(_entry(trusted("default"), trusted('"; SameSite=None"')))
    return block("map", [trusted("$http_user_agent"), trusted(SAMESITE_NONE_VARIABLE)], entries)


def _conditional(location: Location) -> bool:
    options = location.options.affinity
    return options.conditional_samesite_none and options.cookie_samesite == "None"


def _entry(key: Token, value: Token) -> Directive:
    """A ``key value;`` line inside a map (the key stands where a directive's name does)."""
    return Directive(key, (value,))


HOOKS = Hooks(location=location_directives, http=http_directives)
