"""Values of external authentication: URLs that may name a few variables (auth-url,
auth-signin), header names, cache keys and durations.

ingress-nginx lets these annotations hold nginx variables (``https://$host/oauth2/auth``,
``https://$host/oauth2/start?rd=$escaped_request_uri``), and people rely on that. Here only the
variables in `VARIABLES` are accepted, each standing for a fixed kind of text; every other
``$`` is refused. A value is checked by replacing each variable with a sample of its kind and
matching the result against a strict URL syntax, then kept as parts — literal text (which never
holds a ``$``) and variable names — that become one token with `quoting.compose`, the
variables as trusted pieces.

``$escaped_request_uri`` (ingress-nginx's URL-escaped request URI, made by a module stock nginx
does not have) is written as ``$request_uri``, unescaped; ``$pass_access_scheme`` as
``$scheme``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ingress2nginx.core.quoting import Token, compose, trusted
from ingress2nginx.features.base import AnnotationValueError

VARIABLES: dict[str, tuple[str, str]] = {
    "$host": ("$host", "host"),
    "$http_host": ("$best_http_host", "host"),
    "$best_http_host": ("$best_http_host", "host"),
    "$scheme": ("$scheme", "scheme"),
    "$pass_access_scheme": ("$scheme", "scheme"),
    "$request_uri": ("$request_uri", "uri"),
    "$escaped_request_uri": ("$request_uri", "uri"),
}
"""Accepted variable -> (what is written, its kind)."""

_SAMPLES = {"host": "example.com", "scheme": "https", "uri": "/uri"}
_VARIABLE = re.compile(r"\$[A-Za-z0-9_]*")
_PCHAR = r"[A-Za-z0-9\-._~!&'()*+,=:@%]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
"""A DNS name of labels (never ``a..b``, nor a label starting or ending with ``-``: nginx
could never resolve it, and would answer 500), or an IPv6 address in brackets."""
_ABSOLUTE = re.compile(
    rf"(https?)://({_HOST})(?::([0-9]{{1,5}}))?(/(?:{_PCHAR}|/)*)?(\?(?:{_PCHAR}|[/?])*)?\Z"
)
_PATH = re.compile(rf"/(?:{_PCHAR}|/)*(\?(?:{_PCHAR}|[/?])*)?\Z")


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    """A checked URL: literal parts and (rewritten) variable names, in order."""

    parts: tuple[str, ...]
    """Literal text, or a variable name starting with ``$`` as it is written."""
    host: tuple[str, ...] = ()
    """The host (without port) in the same form; empty for a path."""
    resolves_name: bool = False
    """Its host is a DNS name or a variable: nginx resolves it at request time."""
    query: str = ""
    """The literal query string (variables replaced by samples), to look for a parameter."""

    def token(self) -> Token:
        """The URL as one nginx token."""
        return compose(*self.pieces())

    def pieces(self) -> list[Token | str]:
        """Its parts for `quoting.compose`: variables as trusted tokens, the rest as text."""
        return _pieces(self.parts)

    def host_token(self) -> Token:
        """The host as one nginx token (the Host header to send)."""
        return compose(*_pieces(self.host))


def _pieces(parts: tuple[str, ...]) -> list[Token | str]:
    return [trusted(part) if part.startswith("$") else part for part in parts]


def absolute_url(value: str) -> UrlTemplate:
    """An http(s) URL, in which `VARIABLES` may stand for parts (auth-url)."""
    pieces = _split(value.strip())
    sample = "".join(piece.sample for piece in pieces)
    found = _ABSOLUTE.match(sample)
    if not found:
        raise AnnotationValueError(
            "must be an http(s) URL without spaces or quotes (variables: "
            + ", ".join(VARIABLES)
            + ")"
        )
    port = found.group(3)
    if port is not None and not 1 <= int(port) <= 65535:
        raise AnnotationValueError(f"port {port} is not from 1 to 65535")
    host = _host_parts(pieces, found.start(2), found.end(2))
    named = any(part.startswith("$") for part in host) or not _is_ip("".join(host))
    parts = tuple(piece.written for piece in pieces)
    return UrlTemplate(parts, host, named, found.group(5) or "")


def url_or_path(value: str) -> UrlTemplate:
    """An http(s) URL or an absolute path, in which `VARIABLES` may appear (auth-signin)."""
    text = value.strip()
    if text.startswith("/") and not text.startswith("//"):
        pieces = _split(text)
        found = _PATH.match("".join(piece.sample for piece in pieces))
        if not found:
            raise AnnotationValueError("must be an http(s) URL or a path, without spaces or quotes")
        return UrlTemplate(tuple(piece.written for piece in pieces), query=found.group(1) or "")
    return absolute_url(text)


@dataclass(frozen=True, slots=True)
class _Piece:
    written: str
    """Literal text, or the variable as it is written."""
    sample: str
    """The text itself, or a sample of what the variable stands for."""
    kind: str = ""
    """The variable's kind; empty for literal text."""


def _split(text: str) -> list[_Piece]:
    """The text as literal pieces and variables (each checked against `VARIABLES`)."""
    pieces: list[_Piece] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        name = found.group()
        if name not in VARIABLES:
            raise AnnotationValueError(
                f"{name or '$'} is not one of the variables allowed here: " + ", ".join(VARIABLES)
            )
        if found.start() > position:
            literal_text = text[position : found.start()]
            pieces.append(_Piece(literal_text, literal_text))
        written, kind = VARIABLES[name]
        pieces.append(_Piece(written, _SAMPLES[kind], kind))
        position = found.end()
    if position < len(text):
        pieces.append(_Piece(text[position:], text[position:]))
    return pieces


def _host_parts(pieces: list[_Piece], start: int, end: int) -> tuple[str, ...]:
    """The parts covering the host (sample[start:end]); a variable must be the whole host."""
    host: list[str] = []
    offset = 0
    for piece in pieces:
        length = len(piece.sample)
        low, high = max(offset, start), min(offset + length, end)
        if low < high:
            if piece.kind and ((low, high) != (offset, offset + length) or piece.kind != "host"):
                raise AnnotationValueError("a variable in the host must be the whole host")
            host.append(piece.written if piece.kind else piece.sample[low - offset : high - offset])
        offset += length
    if len(host) > 1 and any(part.startswith("$") for part in host):
        raise AnnotationValueError("a variable in the host must be the whole host")
    return tuple(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def has_parameter(template: UrlTemplate, name: str) -> bool:
    """Whether the URL's query already names the parameter `name`."""
    query = template.query.removeprefix("?")
    return any(item.split("=", 1)[0] == name for item in query.split("&") if item)


_HEADER = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_PARAM = re.compile(r"[A-Za-z0-9_.~-]{1,64}\Z")
_REDIRECT = re.compile(r"[A-Za-z0-9\-._~/:,?&=%]{1,2048}\Z")
_CACHE_VARIABLE = re.compile(
    r"\$(?:remote_user|remote_addr|host|scheme|request_uri|uri|args|request_method|server_name"
    r"|(?:http|cookie|arg)_[a-z0-9_]{1,64})(?![A-Za-z0-9_])"
)
_CACHE_LITERAL = re.compile(r"[A-Za-z0-9_-]+")
_DURATION = re.compile(r"[0-9]{1,6}(ms|s|m|h|d|w|M|y)\Z")
_CODE = re.compile(r"(?:[1-5][0-9]{2}|any)\Z")


def header_names(value: str) -> tuple[str, ...]:
    """Header names (letters, digits, ``-``, ``_``) separated by commas; each once."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or len(names) > 32 or not all(_HEADER.match(name) for name in names):
        raise AnnotationValueError(
            "must be header names (letters, digits, - and _), comma-separated"
        )
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower().replace("_", "-"), name)
    return tuple(unique.values())


def parameter_name(value: str) -> str:
    if not _PARAM.match(value.strip()):
        raise AnnotationValueError("must be a query parameter name (letters, digits, - _ . ~)")
    return value.strip()


def redirect_target(value: str) -> str:
    if not _REDIRECT.match(value.strip()):
        raise AnnotationValueError(
            "must be a URL or path (letters, digits and - . _ ~ / : , ? & = %)"
        )
    return value.strip()


def cache_key(value: str) -> tuple[str, ...]:
    """Variables from an allowlist (``$remote_user``, ``$http_<name>``, ``$cookie_<name>``...)
    and plain words, e.g. ``$remote_user$http_authorization``."""
    text = value.strip()
    parts: list[str] = []
    position = 0
    while position < len(text):
        found = _CACHE_VARIABLE.match(text, position) or _CACHE_LITERAL.match(text, position)
        if found is None:
            raise AnnotationValueError(
                "must be variables ($remote_user, $remote_addr, $host, $uri, $args,"
                " $http_<name>, $cookie_<name>, $arg_<name>...) and letters, digits, - and _"
            )
        parts.append(found.group())
        position = found.end()
    if not parts:
        raise AnnotationValueError("must not be empty")
    return tuple(parts)


def cache_durations(value: str) -> tuple[tuple[str, ...], ...]:
    """``[code ...] time`` entries separated by commas: ``200 202 10m, 401 5m``."""
    entries = []
    for entry in (part.split() for part in value.split(",")):
        if not entry:
            continue
        *codes, time = entry
        if not _DURATION.match(time) or not all(_CODE.match(code) for code in codes):
            raise AnnotationValueError('must be entries like "200 202 10m" separated by commas')
        entries.append(tuple(entry))
    if not entries:
        raise AnnotationValueError('must be entries like "200 202 10m" separated by commas')
    return tuple(entries)
