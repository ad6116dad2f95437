"""Allowlists for annotation values: each parser accepts a narrow syntax or raises.

ingress-nginx's own validators are the floor: every parser here is at least as strict, and
none lets through a character that could end a token or a line in nginx.conf (quotes, ``;``,
braces, whitespace, control characters) or a ``$`` that nginx would expand, unless the value is
only ever written in a position where that is harmless.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Callable, Iterable

from ingress2nginx.core.grammar import host_problem
from ingress2nginx.features.base import AnnotationValueError


def parse_bool(value: str) -> bool:
    """A boolean as Go's strconv.ParseBool reads it (ingress-nginx's parser)."""
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise AnnotationValueError('must be "true" or "false"')


def integer(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""

    def parse(value: str) -> int:
        text = value.strip()
        if not re.fullmatch(r"-?[0-9]{1,10}", text):
            raise AnnotationValueError(f"must be a whole number from {low} to {high}")
        number = int(text)
        if not low <= number <= high:
            raise AnnotationValueError(f"must be a whole number from {low} to {high}")
        return number

    return parse


_SIZE = re.compile(r"[0-9]{1,9}[kKmM]?\Z")
_OFFSET = re.compile(r"[0-9]{1,9}[kKmMgG]?\Z")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def size(value: str) -> str:
    """An nginx size (buffer sizes): digits with an optional k or m unit (``512k``, ``8m``).
    nginx reads sizes without ``g``: ``1g`` would make it refuse the whole config."""
    if not _SIZE.match(value.strip()):
        raise AnnotationValueError("must be a size like 512k, 8m or 1024 (no g)")
    return value.strip()


def offset(value: str) -> str:
    """An nginx offset (body and file sizes): digits with an optional k, m or g unit."""
    if not _OFFSET.match(value.strip()):
        raise AnnotationValueError("must be a size like 8m, 1g or 1024")
    return value.strip()


def in_bytes(value: str) -> int:
    """A size or offset (already checked) in bytes."""
    text = value.strip().lower()
    unit = text[-1] if text[-1] in "kmg" else ""
    return int(text.removesuffix(unit)) * _UNITS[unit]


def seconds(value: str) -> int:
    """A timeout in seconds, as ingress-nginx's proxy-*-timeout take it (``60``, or ``60s``)."""
    text = value.strip().removesuffix("s")
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise AnnotationValueError("must be a number of seconds")
    return int(text)


def choice(*allowed: str, lower: bool = False) -> Callable[[str], str]:
    """One of a fixed set of words."""

    def parse(value: str) -> str:
        text = value.strip().lower() if lower else value.strip()
        if text not in allowed:
            raise AnnotationValueError(f"must be one of {', '.join(allowed)}")
        return text

    return parse


def words(allowed: Iterable[str]) -> Callable[[str], tuple[str, ...]]:
    """Several words of a fixed set, separated by spaces or commas."""
    known = tuple(allowed)

    def parse(value: str) -> tuple[str, ...]:
        found = tuple(word for word in re.split(r"[\s,]+", value.strip()) if word)
        if not found or any(word not in known for word in found):
            raise AnnotationValueError(f"must be some of {', '.join(known)}")
        return found

    return parse


_PCHAR = r"[A-Za-z0-9\-._~!&'()*+,=:@%]"
"""RFC 3986 path characters except ``$`` and ``;``: nothing nginx would expand or split on."""
_CAPTURE = r"\$[1-9]"
_URI_PATH = re.compile(rf"/(?:{_PCHAR}|/)*\Z")
_PATH_AND_QUERY = re.compile(rf"/(?:{_PCHAR}|/)*(?:\?(?:{_PCHAR}|[/?])*)?\Z")
_URL = re.compile(
    r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    rf"(?:/(?:{_PCHAR}|/)*)?(?:\?(?:{_PCHAR}|[/?])*)?\Z"
)
_REWRITE = re.compile(rf"/(?:{_PCHAR}|/|{_CAPTURE})*(?:\?(?:{_PCHAR}|[/?]|{_CAPTURE})*)?\Z")


def uri_path(value: str) -> str:
    """An absolute URL path (``/app``): URL path characters only, no ``$``, quotes or spaces."""
    text = value.strip()
    if not _URI_PATH.match(text) or "//" in text:
        raise AnnotationValueError("must be a URL path starting with /, like /app")
    return text


def url(value: str) -> str:
    """An absolute http(s) URL, or a path with an optional query: the target of a redirect."""
    text = value.strip()
    if _URL.match(text) or (_PATH_AND_QUERY.match(text) and not text.startswith("//")):
        return text
    raise AnnotationValueError("must be an http(s) URL or a path, without spaces, quotes or $")


def rewrite_target(value: str) -> str:
    """A rewrite target: a path (and query) that may use capture groups ``$1``…``$9``."""
    text = value.strip()
    if not _REWRITE.match(text) or text.startswith("//"):
        raise AnnotationValueError(
            "must be a path starting with /, using only URL characters and $1..$9"
        )
    return text


def hostname(value: str) -> str:
    """A host name (the Ingress host rules), without port."""
    text = value.strip()
    problem = host_problem(text)
    if problem is not None:
        raise AnnotationValueError(problem)
    return text


def host_and_port(value: str) -> str:
    """``host`` or ``host:port`` (upstream-vhost): a DNS name or IP address."""
    text = value.strip()
    host, _, port = text.rpartition(":") if ":" in text and "]" not in text[-1:] else (text, "", "")
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise AnnotationValueError("must be host or host:port")
    candidate = host or text
    if re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", candidate) and ".." not in candidate:
        return text
    try:
        ipaddress.ip_address(candidate.strip("[]"))
    except ValueError:
        raise AnnotationValueError(
            "must be a lowercase host name or IP, optionally :port"
        ) from None
    return text


def hostnames(value: str) -> tuple[str, ...]:
    """Comma-separated host names (server-alias), each once."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise AnnotationValueError("must be one or more host names separated by commas")
    return tuple(dict.fromkeys(hostname(name) for name in names))


def cidrs(value: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR ranges, normalized (``10.0.0.0/8``)."""
    ranges = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if "%" in item:  # an IPv6 zone (fe80::1%eth0): nginx cannot read it
            raise AnnotationValueError(f"{item!r} is not an IP address or CIDR range")
        try:
            ranges.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise AnnotationValueError(f"{item!r} is not an IP address or CIDR range") from None
    if not ranges:
        raise AnnotationValueError("must be one or more CIDR ranges separated by commas")
    return tuple(ranges)


_CIPHER_LIST = re.compile(r"[A-Za-z0-9+:_!@=.-]{1,1024}\Z")


def cipher_list(value: str) -> str:
    """An OpenSSL cipher list (names, ``! + : - @STRENGTH``) that selects at least one cipher.

    nginx refuses the whole config when no cipher of a list is known to OpenSSL (``data:x``),
    so the list is tried with this machine's OpenSSL (the sidecar image's, in a cluster)."""
    text = value.strip()
    if not _CIPHER_LIST.match(text):
        raise AnnotationValueError("must be an OpenSSL cipher list (names, ! + : - @), no spaces")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(text)
    except ssl.SSLError:
        raise AnnotationValueError("selects no cipher OpenSSL knows") from None
    return text
