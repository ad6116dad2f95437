"""What valid Kubernetes names and hosts look like, and the characters refused everywhere.

Pure predicates mirroring Kubernetes apimachinery (``k8s.io/apimachinery/pkg/util/validation``)
and ``pkg/apis/networking/validation``, each documenting its source and every place it is
deliberately stricter. Objects read from files never met an API server, so ingress2nginx
applies these rules itself; validating.py walks an Ingress with them, paths.py holds
the rules for paths.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

# --- Names (apimachinery pkg/util/validation/validation.go) -------------------------------------

DNS1123_LABEL_MAX: Final = 63
DNS1123_SUBDOMAIN_MAX: Final = 253
PORT_NAME_MAX: Final = 15
ANNOTATIONS_MAX_BYTES: Final = 256 * 1024
"""apimachinery TotalAnnotationSizeLimitB: keys plus values, in bytes."""

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DNS1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
_PORT_NAME = re.compile(r"(?=[-0-9]*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*")
"""Lowercase letters, digits and '-', at least one letter, no '--', no '-' at either end."""
_QUALIFIED_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_IPV4_SLOPPY = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_NOT_IPV4_CHARACTER = re.compile(r"[^0-9.]")
_WITH_PORT = re.compile(r"[^:]+:[0-9]*")
_HOST_LABEL_CHARACTERS = re.compile(r"[-a-z0-9]+")
_PLAIN_HOST = re.compile(
    r"(?:\*\.)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*"
)
"""A host `host_problem` has nothing against once it is short enough and not an IP address:
lowercase DNS labels of at most 63 characters joined by '.', maybe after a ``*.``."""


def is_dns1123_label(s: str) -> bool:
    """RFC 1123 label, as apimachinery ``IsDNS1123Label`` (namespaces): at most 63 characters,
    lowercase letters, digits and '-', starting and ending with a letter or digit."""
    return len(s) <= DNS1123_LABEL_MAX and _DNS1123_LABEL.fullmatch(s) is not None


def is_dns1123_subdomain(s: str) -> bool:
    """RFC 1123 subdomain, as apimachinery ``IsDNS1123Subdomain`` (object, class and Secret names):
    at most 253 characters, DNS-1123 labels joined by '.'. Like the API server, the 63-character
    label limit is not applied here (`host_problem` applies it to hosts)."""
    return len(s) <= DNS1123_SUBDOMAIN_MAX and _DNS1123_SUBDOMAIN.fullmatch(s) is not None


def is_dns1035_label(s: str) -> bool:
    """RFC 1035 label, as apimachinery ``IsDNS1035Label`` (Service names, so they can be DNS
    names): at most 63 characters, lowercase letters, digits and '-', starting with a letter and
    ending with a letter or digit."""
    return len(s) <= DNS1123_LABEL_MAX and _DNS1035_LABEL.fullmatch(s) is not None


def is_port_name(s: str) -> bool:
    """IANA_SVC_NAME (RFC 6335 §5.1), as apimachinery ``IsValidPortName``: 1-15 characters,
    lowercase letters, digits and '-', at least one letter, no '--', no '-' at either end."""
    return len(s) <= PORT_NAME_MAX and _PORT_NAME.fullmatch(s) is not None


def is_qualified_name(s: str) -> bool:
    """apimachinery ``IsQualifiedName`` (label and annotation keys): an optional DNS-1123
    subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.' that
    starts and ends with a letter or digit."""
    prefix, slash, name = s.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= DNS1123_LABEL_MAX and _QUALIFIED_NAME.fullmatch(name) is not None


def is_label_value(s: str) -> bool:
    """apimachinery ``IsValidLabelValue``: empty, or a qualified name part (at most 63)."""
    return s == "" or (len(s) <= DNS1123_LABEL_MAX and _QUALIFIED_NAME.fullmatch(s) is not None)


# --- Characters refused everywhere ---------------------------------------------------------------

_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_REFUSED_NAMES: Final = {
    "\x00": "a NUL",
    "\t": "a tab",
    "\n": "a line feed",
    "\r": "a carriage return",
    "\x7f": "a DEL",
    "\x85": "a next-line (NEL)",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def refused_characters(s: str) -> str | None:
    """Why `s` may not be used at all, or None. Applied to every string read from an Ingress.

    Refused (CR, LF and NUL everywhere: they end nginx tokens and lines): every C0 control
    including tab, DEL, every C1 control including NEL (U+0085), the Unicode line and paragraph
    separators (U+2028, U+2029) — anything a config parser, a log reader or a terminal may take
    as a line break or a command. Also, beyond the brief: the bidirectional embedding, override
    and isolate controls (U+202A-U+202E, U+2066-U+2069), which make text read differently from
    what it is ("Trojan Source", CVE-2021-42574), and unpaired surrogates (U+D800-U+DFFF), which
    JSON can carry but no UTF-8 file can hold (the API server would have replaced them with
    U+FFFD).
    """
    found = _REFUSED.search(s)
    if found is None:
        return None
    char = found.group()
    code = ord(char)
    if char in _REFUSED_NAMES:
        name = _REFUSED_NAMES[char]
    elif 0xD800 <= code <= 0xDFFF:
        name = "an unpaired surrogate"
    elif code >= 0x202A:
        name = "a bidirectional text control"
    else:
        name = "a control character"
    return f"contains {name} (U+{code:04X}), which is refused everywhere"


# --- Hosts -------------------------------------------------------------------------------------


def host_problem(host: str) -> str | None:
    """Why `host` cannot be an Ingress host, or None.

    Source: networking validation ``validateIngressRules`` — a host is a lowercase DNS-1123
    subdomain, or ``*.`` followed by one (``IsWildcardDNS1123Subdomain``, 253 characters in all),
    and never an IP address (``ParseIPSloppy``, so IPv4 with leading zeros counts as one).
    Stricter than the API server, on purpose: each label is at most 63 characters (RFC 1035
    §2.3.4; such a name cannot exist in DNS), and a refused character is reported as such.
    The same rule is used for ``spec.tls[].hosts``, where the API server omits the IP check.
    """
    plain = len(host) <= DNS1123_SUBDOMAIN_MAX and _PLAIN_HOST.fullmatch(host) is not None
    if plain and not _is_ip_address(host):
        return None  # most hosts: the checks below find nothing in them
    if host == "":
        return "must not be empty"
    refused = refused_characters(host)
    if refused:
        return refused
    if len(host) > DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
    if _is_ip_address(host):
        return "an IP address is not allowed; use a DNS name"
    if not host.isascii():
        return "must be ASCII; write an internationalized name in its punycode (xn--) form"
    if host.lower() != host:
        return "must be lowercase"
    if _WITH_PORT.fullmatch(host):
        return "must not include a port"
    if "*" in host:
        if not host.startswith("*.") or "*" in host[2:] or host == "*.":
            return 'wildcard must be "*." followed by a DNS name'
        host = host[2:]
    return _dns_name_problem(host)


def _is_ip_address(host: str) -> bool:
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" not in candidate and _NOT_IPV4_CHARACTER.search(candidate):
        return False  # neither IPv6 (which needs ':') nor IPv4, strict or sloppy (digits, '.')
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return _IPV4_SLOPPY.fullmatch(candidate) is not None and all(
            int(part) <= 255 for part in candidate.split(".")
        )
    return True


def _dns_name_problem(name: str) -> str | None:
    if name.endswith("."):
        return "must not end with '.'"
    for label in name.split("."):
        if label == "":
            return "must not contain an empty label ('..' or a leading '.')"
        if _HOST_LABEL_CHARACTERS.fullmatch(label) is None:
            return "may contain only lowercase letters, digits, '-' and '.'"
        if label.startswith("-") or label.endswith("-"):
            return "each label must start and end with a letter or digit"
        if len(label) > DNS1123_LABEL_MAX:
            return f"each label must be at most {DNS1123_LABEL_MAX} characters"
    return None
