"""The Kubernetes API server's Ingress validation, redone for manifests that never met one.

Objects read from files (or a hostile stdin) skipped the API server, so nothing has checked
them; and what reaches nginx.conf must not be able to add a directive, a block or a file read
(SPEC §5; ingress-nginx had a series of config-injection CVEs). This module holds:

- pure predicates mirroring Kubernetes apimachinery (``k8s.io/apimachinery/pkg/util/validation``)
  and ``pkg/apis/networking/validation`` — names, hosts, paths, ports — each documenting its source
  and every place it is deliberately stricter;
- `location_path`, the path as nginx compares it (percent-decoded), and `regex_path_problem`, the
  allowlist for paths used as nginx regex locations;
- `validate_ingress`, which walks one Ingress whose fields may hold any JSON type and reports
  every problem with the field path the API server would print. It never raises.

Problem codes: ``invalid-metadata``, ``invalid-name``, ``invalid-namespace``,
``invalid-annotation``, ``invalid-label``, ``invalid-character``, ``invalid-spec``, ``no-rules``,
``invalid-class``, ``invalid-rule``, ``invalid-host``, ``no-paths``, ``invalid-path-type``,
``invalid-path``, ``invalid-backend``, ``invalid-port``, ``invalid-tls``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from ingress2nginx.errors import ObjectRef, Problem, Severity, shown
from ingress2nginx.objects import Manifest

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
_PORT_NAME = re.compile(r"[-a-z0-9]+")
_QUALIFIED_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_IPV4_SLOPPY = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


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
    return (
        0 < len(s) <= PORT_NAME_MAX
        and _PORT_NAME.fullmatch(s) is not None
        and any("a" <= c <= "z" for c in s)
        and "--" not in s
        and not s.startswith("-")
        and not s.endswith("-")
    )


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

    Refused (SPEC §5: "CR, LF and NUL are refused everywhere"): every C0 control including tab,
    DEL, every C1 control including NEL (U+0085), the Unicode line and paragraph separators
    (U+2028, U+2029) — anything a config parser, a log reader or a terminal may take as a line
    break or a command. Also, beyond the brief: the bidirectional embedding, override and isolate
    controls (U+202A-U+202E, U+2066-U+2069), which make text read differently from what it is
    ("Trojan Source", CVE-2021-42574), and unpaired surrogates (U+D800-U+DFFF), which JSON can
    carry but no UTF-8 file can hold (the API server would have replaced them with U+FFFD).
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
    if re.fullmatch(r"[^:]+:[0-9]*", host):
        return "must not include a port"
    if "*" in host:
        if not host.startswith("*.") or "*" in host[2:] or host == "*.":
            return 'wildcard must be "*." followed by a DNS name'
        host = host[2:]
    return _dns_name_problem(host)


def _is_ip_address(host: str) -> bool:
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
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
        if re.fullmatch(r"[-a-z0-9]+", label) is None:
            return "may contain only lowercase letters, digits, '-' and '.'"
        if label.startswith("-") or label.endswith("-"):
            return "each label must start and end with a letter or digit"
        if len(label) > DNS1123_LABEL_MAX:
            return f"each label must be at most {DNS1123_LABEL_MAX} characters"
    return None


# --- Paths -------------------------------------------------------------------------------------

EXACT: Final = "Exact"
PREFIX: Final = "Prefix"
IMPLEMENTATION_SPECIFIC: Final = "ImplementationSpecific"
PATH_TYPES: Final = (EXACT, PREFIX, IMPLEMENTATION_SPECIFIC)
PATH_MAX_LENGTH: Final = 2048
"""Longest path accepted, in characters as written. The API server sets no limit; 2048 is the
de facto longest portable URL (browsers, CDNs, the sitemaps protocol), keeps one hostile value
from bloating the output, and sits well under nginx's default 8k request-line buffer."""

_PCHAR: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"
)
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_DOT_SEGMENTS: Final = ("//", "/./", "/../")
_DOT_SUFFIXES: Final = ("/..", "/.")


def path_problem(path: str, path_type: str) -> str | None:
    """Why `path` cannot be matched literally under `path_type`, or None.

    Source: networking validation ``validateHTTPIngressPath``. Exact and Prefix paths start with
    '/' and contain none of '//', '/./', '/../', '%2f', '%2F' nor end in '/.' or '/..'.
    ImplementationSpecific, when not used as a regex, is matched as Prefix (SPEC §4), so the same
    rules apply; its empty path is allowed (the API allows it) and means '/' (`location_path`).
    Stricter than the API server, because nginx percent-decodes the request path before it
    compares it with a ``location``:

    - only RFC 3986 pchar characters and '/' (``A-Za-z0-9-._~!$&'()*+,;=:@/``) or ``%XX``
      escapes; so no '?' or '#' (the query never takes part), no space, no raw non-ASCII
      (percent-encode its UTF-8 bytes), no lone '%';
    - no ``%2F`` (decodes to '/': the API's rule) and no ``%25``: a decoded '%' would be read as
      an escape again by whatever decodes next, so one rule would mean two paths;
    - the escapes must decode to UTF-8 text, which must itself pass `refused_characters`
      (``%00``, ``%0A``, ``%7F``, ``%C2%85``...);
    - the dot-segment and '//' rules hold after decoding too: ``/%2e%2e/`` is ``/../``, which
      nginx resolves away before matching, so such a rule could never match as written;
    - at most `PATH_MAX_LENGTH` characters.
    """
    if path_type not in PATH_TYPES:
        return f"pathType must be one of {', '.join(PATH_TYPES)}"
    if path == "" and path_type == IMPLEMENTATION_SPECIFIC:
        return None
    return _literal_path_problem(path)


def location_path(path: str) -> str:
    """`path` as nginx compares it with the request: percent-decoded UTF-8 text.

    ``/caf%C3%A9`` gives ``/café``; the empty ImplementationSpecific path gives ``/``. Raises
    ValueError for a path that `path_problem` refuses: call that first. The result may hold
    characters that are special in nginx.conf (space, quotes, ';', '{', '$'...): it must go
    through the central quoting function like every other value.
    """
    if path == "":
        return "/"
    problem = _literal_path_problem(path)
    if problem:
        raise ValueError(f"path {shown(path)}: {problem}")
    return unquote_to_bytes(path).decode("utf-8")


def _literal_path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be an absolute path (start with '/')"
    if len(path) > PATH_MAX_LENGTH:
        return f"must be no more than {PATH_MAX_LENGTH} characters"
    problem = refused_characters(path) or _path_character_problem(path)
    if problem:
        return problem
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return "percent-escapes must decode to UTF-8 text"
    refused = refused_characters(decoded)
    if refused:
        return f"once percent-decoded, {refused}"
    return _dot_segment_problem(path, decoded)


def _path_character_problem(path: str) -> str | None:
    for index, char in enumerate(path):
        if char == "%":
            escape = path[index + 1 : index + 3]
            if len(escape) < 2 or not set(escape) <= _HEX:
                return "'%' must start a %XX escape"
            if escape.lower() == "2f":
                return "must not contain '%2f' or '%2F' (an encoded '/')"
            if escape == "25":
                return "must not contain '%25' (an encoded '%'): it would be decoded twice"
        elif char not in _PCHAR:
            return _path_character_reason(char)
    return None


def _path_character_reason(char: str) -> str:
    if char in "?#":
        return "must not contain '?' or '#': the query string never takes part in matching"
    if not char.isascii():
        return "must percent-encode non-ASCII characters (%XX for each UTF-8 byte)"
    return f"must not contain {shown(char)}; percent-encode it"


def _dot_segment_problem(path: str, decoded: str) -> str | None:
    after = "" if decoded == path else " once percent-decoded"
    for sequence in _DOT_SEGMENTS:
        if sequence in decoded:
            return f"must not contain '{sequence}'{after}"
    for suffix in _DOT_SUFFIXES:
        if decoded.endswith(suffix):
            return f"must not end with '{suffix}'{after}"
    return None


# --- Paths used as regular expressions (ImplementationSpecific with use-regex) -----------------

_REGEX_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!&,=:@/^$.*+?|()[]{}\\"
)
_REGEX_ESCAPES: Final = frozenset("./-dw+*?()[]|")
_QUANTIFIER = re.compile(r"\{([0-9]{1,3})(?:,([0-9]{0,3}))?\}")


def regex_path_problem(path: str) -> str | None:
    """Why `path` cannot be an nginx regex ``location`` (PCRE), or None. A conservative allowlist:

    - starts with '/' or '^/' (nginx matches regexes anywhere in the path unless anchored);
    - at most `PATH_MAX_LENGTH` characters and nothing `refused_characters` refuses;
    - characters: ASCII letters, digits, ``-._~!&,=:@/`` and the operators ``^$.*+?|()[]{}\\``.
      No whitespace, ';', quotes, '#', '<', '>', '`': they end or comment an nginx token, or
      open named captures (``(?<name>``), which nginx turns into variables. No '%': nginx
      matches the decoded path, so write the character itself. No non-ASCII: nginx's PCRE
      works on bytes and a quantifier would bind to the last byte of a character;
    - '$' only as an end anchor: last, or just before ')' or '|' (``/api(/|$)(.*)``), so it
      can never read as an nginx variable such as ``$host``;
    - '\\' only before one of ``. / - d w + * ? ( ) [ ] |``: no backreferences, ``\\Q``,
      ``\\x``, ``\\$``;
    - '{' only as a bounded quantifier ``{n}``, ``{n,}``, ``{n,m}`` (n <= m <= 999) after
      something to repeat; '}' only closing one;
    - groups only ``(``, ``(?:``, ``(?=``, ``(?!``: no inline flags, verbs ``(*...)``, callouts,
      comments or named groups;
    - it compiles (Python's ``re`` agrees with PCRE on this subset).

    It does not bound backtracking; nginx's PCRE match limits do.
    """
    if not path.startswith(("/", "^/")):
        return "a regular expression path must start with '/' or '^/'"
    if len(path) > PATH_MAX_LENGTH:
        return f"must be no more than {PATH_MAX_LENGTH} characters"
    problem = refused_characters(path) or _regex_character_problem(path)
    problem = problem or _regex_syntax_problem(path)
    if problem:
        return problem
    try:
        re.compile(path)
    except re.error as error:
        return f"is not a valid regular expression: {error.msg}"
    return None


def _regex_character_problem(path: str) -> str | None:
    for char in path:
        if char in _REGEX_CHARS:
            continue
        if char.isspace():
            return "a regular expression path must not contain whitespace"
        if char == "%":
            return "a regular expression path must not contain '%': write the decoded character"
        if not char.isascii():
            return "a regular expression path must be ASCII"
        return f"a regular expression path must not contain {shown(char)}"
    return None


def _regex_syntax_problem(path: str) -> str | None:
    index = 0
    while index < len(path):
        problem, index = _regex_token(path, index)
        if problem:
            return problem
    return None


def _regex_token(path: str, index: int) -> tuple[str | None, int]:
    """The problem with the token at `index`, if any, and where the next token starts."""
    char = path[index]
    following = path[index + 1 : index + 2]
    if char == "\\":
        if following in _REGEX_ESCAPES:
            return None, index + 2
        return "'\\' may only escape one of . / - d w + * ? ( ) [ ] |", index + 2
    if char == "{":
        return _quantifier(path, index)
    if char == "}":
        return "'}' may only close a quantifier such as {1,3}", index + 1
    if char == "$" and following not in ("", ")", "|"):
        return "'$' may only be an end anchor: last, or before ')' or '|'", index + 1
    if char == "(" and (following == "*" or (following == "?" and not _plain_group(path, index))):
        return "groups may only be '(', '(?:', '(?=' or '(?!'", index + 1
    return None, index + 1


def _plain_group(path: str, index: int) -> bool:
    return path[index + 2 : index + 3] in (":", "=", "!")


def _quantifier(path: str, index: int) -> tuple[str | None, int]:
    quantifier = _QUANTIFIER.match(path, index)
    if quantifier is None or index == 0 or path[index - 1] in "(|^":
        return "'{' may only start a quantifier such as {1,3} after something to repeat", index + 1
    low, high = quantifier.group(1), quantifier.group(2)
    if high and int(high) < int(low):
        return "a quantifier {n,m} needs n <= m", quantifier.end()
    return None, quantifier.end()


# --- One Ingress -------------------------------------------------------------------------------

READ_ANNOTATION_PREFIXES: Final = ("nginx.ingress.kubernetes.io/", "kubernetes.io/ingress.class")
"""Annotations this program reads; their values must pass `refused_characters`. Others are
never read, so only their type is checked: kubectl's own last-applied-configuration value
ends with a line feed, and refusing it would reject every Ingress applied with kubectl."""

SNIPPET_SUFFIX: Final = "-snippet"
"""Snippet annotations hold nginx text, so line feeds and tabs are allowed in their values
(whether snippets are used at all is decided elsewhere; SPEC §5)."""

_SAFE_KEY = re.compile(r"[A-Za-z0-9._/-]{1,253}")


_NO_RULES: Final = "either spec.defaultBackend or spec.rules must be specified"
_SUBDOMAIN_REASON: Final = (
    "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit"
)
_LABEL_REASON: Final = (
    "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
    "starting and ending with a letter or digit"
)
_SERVICE_NAME_REASON: Final = (
    "must be a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
    "starting with a letter and ending with a letter or digit"
)
_QUALIFIED_REASON: Final = (
    "key must be a qualified name: an optional DNS subdomain and '/', then at most 63 "
    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_LABEL_VALUE_REASON: Final = (
    "value must be at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)
_PORT_NAME_REASON: Final = (
    "must be an IANA service name: 1-15 lowercase letters, digits and '-', "
    "with at least one letter, no '--', not starting or ending with '-'"
)


@dataclass(slots=True)
class _Report:
    """Problems of one Ingress, and readers that take a field whatever its JSON type."""

    ref: ObjectRef
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, reason: str, code: str) -> None:
        self.problems.append(Problem(Severity.ERROR, self.ref, path, reason, code))

    def invalid(self, path: str, value: object, reason: str, code: str) -> None:
        self.add(path, f"{reason} (got {shown(value)})", code)

    def mapping(self, path: str, value: object, code: str) -> Mapping[Any, Any] | None:
        """`value` if it is an object; None when absent, or after reporting its wrong type."""
        if value is None or isinstance(value, Mapping):
            return value
        self.add(path, f"must be an object, not {_json_type(value)}", code)
        return None

    def entry(self, path: str, value: object, code: str) -> Mapping[Any, Any] | None:
        """A list item that must be an object: null is reported too."""
        if value is None:
            self.add(path, "must be an object, not null", code)
        return self.mapping(path, value, code)

    def sequence(self, path: str, value: object, code: str) -> list[Any] | None:
        """`value` if it is a list; [] when absent; None after reporting its wrong type."""
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return list(value)
        self.add(path, f"must be a list, not {_json_type(value)}", code)
        return None

    def text(self, path: str, value: object, code: str, *, required: bool = False) -> str | None:
        """`value` if it is a string free of refused characters; None otherwise, reported
        unless it is absent and optional. With `required`, '' counts as absent."""
        if value is None or (required and value == ""):
            if required:
                self.add(path, "is required", code)
            return None
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_json_type(value)}", code)
            return None
        refused = refused_characters(value)
        if refused:
            self.invalid(path, value, refused, "invalid-character")
            return None
        return value


def validate_ingress(manifest: Manifest) -> list[Problem]:
    """Every problem the API server (and this program's stricter rules) would find in one
    Ingress already converted to networking.k8s.io/v1 (SPEC §5), each with its field path.
    Never raises, whatever JSON types the body holds.
    """
    report = _Report(manifest.ref)
    body = manifest.body if isinstance(manifest.body, Mapping) else {}
    metadata = report.mapping("metadata", body.get("metadata"), "invalid-metadata")
    if metadata is not None or body.get("metadata") is None:
        _check_metadata(report, metadata or {})
    if body.get("spec") is None:
        report.add("spec", _NO_RULES, "no-rules")
    spec = report.mapping("spec", body.get("spec"), "invalid-spec")
    if spec is not None:
        _check_spec(report, spec)
    return report.problems


def _check_metadata(report: _Report, metadata: Mapping[Any, Any]) -> None:
    name = report.text("metadata.name", metadata.get("name"), "invalid-name", required=True)
    if name is not None and not is_dns1123_subdomain(name):
        report.invalid("metadata.name", name, _SUBDOMAIN_REASON, "invalid-name")
    raw_namespace = _unless_empty(metadata.get("namespace"))
    namespace = report.text("metadata.namespace", raw_namespace, "invalid-namespace")
    if namespace is not None and not is_dns1123_label(namespace):
        report.invalid("metadata.namespace", namespace, _LABEL_REASON, "invalid-namespace")
    report.text("metadata.uid", metadata.get("uid"), "invalid-metadata")
    _check_annotations(report, metadata.get("annotations"))
    _check_labels(report, metadata.get("labels"))


def _check_annotations(report: _Report, raw: object) -> None:
    """Keys as the API server checks them (qualified names, compared in lowercase; 256 KiB in
    all). Values: strings; those of `READ_ANNOTATION_PREFIXES` pass `refused_characters`."""
    annotations = report.mapping("metadata.annotations", raw, "invalid-annotation")
    size = 0
    for key, value in (annotations or {}).items():
        path = _keyed("metadata.annotations", key)
        name = report.text(path, key, "invalid-annotation")
        if name is not None and not is_qualified_name(name.lower()):
            report.invalid(path, name, _QUALIFIED_REASON, "invalid-annotation")
        if not isinstance(value, str):
            reason = f"value must be a string, not {_json_type(value)} (quote it in YAML)"
            report.add(path, reason, "invalid-annotation")
            continue
        size += _utf8_length(name or "") + _utf8_length(value)
        if name is not None and name.startswith(READ_ANNOTATION_PREFIXES):
            _check_annotation_value(report, path, name, value)
    if size > ANNOTATIONS_MAX_BYTES:
        reason = f"must total at most {ANNOTATIONS_MAX_BYTES} bytes of keys and values"
        report.add("metadata.annotations", reason, "invalid-annotation")


def _check_annotation_value(report: _Report, path: str, name: str, value: str) -> None:
    snippet = name.endswith(SNIPPET_SUFFIX)
    refused = refused_characters(value.replace("\n", "").replace("\t", "") if snippet else value)
    if refused:
        report.invalid(path, value, f"value {refused}", "invalid-character")


def _check_labels(report: _Report, raw: object) -> None:
    labels = report.mapping("metadata.labels", raw, "invalid-label")
    for key, value in (labels or {}).items():
        path = _keyed("metadata.labels", key)
        name = report.text(path, key, "invalid-label")
        if name is not None and not is_qualified_name(name):
            report.invalid(path, name, _QUALIFIED_REASON, "invalid-label")
        text = report.text(path, value, "invalid-label")
        if text is not None and not is_label_value(text):
            report.invalid(path, text, _LABEL_VALUE_REASON, "invalid-label")


def _check_spec(report: _Report, spec: Mapping[Any, Any]) -> None:
    class_name = report.text("spec.ingressClassName", spec.get("ingressClassName"), "invalid-class")
    if class_name is not None and not is_dns1123_subdomain(class_name):
        report.invalid("spec.ingressClassName", class_name, _SUBDOMAIN_REASON, "invalid-class")
    default_backend = spec.get("defaultBackend")
    if default_backend is not None:
        _check_backend(report, "spec.defaultBackend", default_backend)
    rules = report.sequence("spec.rules", spec.get("rules"), "invalid-rule")
    if rules == [] and default_backend is None:
        report.add("spec", _NO_RULES, "no-rules")
    for index, rule in enumerate(rules or []):
        _check_rule(report, f"spec.rules[{index}]", rule)
    tls = report.sequence("spec.tls", spec.get("tls"), "invalid-tls")
    for index, entry in enumerate(tls or []):
        _check_tls(report, f"spec.tls[{index}]", entry)


def _check_rule(report: _Report, path: str, raw: object) -> None:
    """A rule may hold a host, http paths, both or neither (the API allows a host alone)."""
    rule = report.entry(path, raw, "invalid-rule")
    if rule is None:
        return
    host = report.text(f"{path}.host", _unless_empty(rule.get("host")), "invalid-host")
    if host is not None:
        _check_host(report, f"{path}.host", host, "invalid-host")
    http = report.mapping(f"{path}.http", rule.get("http"), "invalid-rule")
    if http is None:
        return
    paths = report.sequence(f"{path}.http.paths", http.get("paths"), "invalid-rule")
    if paths == []:
        report.add(f"{path}.http.paths", "is required: list at least one path", "no-paths")
    for index, entry in enumerate(paths or []):
        _check_http_path(report, f"{path}.http.paths[{index}]", entry)


def _check_host(report: _Report, path: str, host: str, code: str) -> None:
    problem = host_problem(host)
    if problem:
        report.invalid(path, host, problem, code)


def _check_http_path(report: _Report, path: str, raw: object) -> None:
    entry = report.entry(path, raw, "invalid-path")
    if entry is None:
        return
    path_type = _check_path_type(report, f"{path}.pathType", entry.get("pathType"))
    raw_value = entry.get("path")
    value = report.text(f"{path}.path", "" if raw_value is None else raw_value, "invalid-path")
    if path_type is not None and value is not None:
        _check_path_value(report, f"{path}.path", value, path_type)
    backend = entry.get("backend")
    if backend is None:
        report.add(f"{path}.backend", "is required", "invalid-backend")
    else:
        _check_backend(report, f"{path}.backend", backend)


def _check_path_type(report: _Report, path: str, raw: object) -> str | None:
    if raw is None:
        report.add(path, f"is required: one of {', '.join(PATH_TYPES)}", "invalid-path-type")
        return None
    path_type = report.text(path, raw, "invalid-path-type")
    if path_type is not None and path_type not in PATH_TYPES:
        reason = f"must be one of {', '.join(PATH_TYPES)}"
        report.invalid(path, path_type, reason, "invalid-path-type")
        return None
    return path_type


def _check_path_value(report: _Report, path: str, value: str, path_type: str) -> None:
    """Exact and Prefix paths are literal. An ImplementationSpecific path is literal or, on
    hosts that use regex, a regex — decided later, by the normalizer, which must check it again
    with `path_problem` or `regex_path_problem`. Here it must pass as at least one of them."""
    problem = path_problem(value, path_type)
    if problem is None:
        return
    if path_type == IMPLEMENTATION_SPECIFIC and value.startswith("/"):
        as_regex = regex_path_problem(value)
        if as_regex is None:
            return
        problem = f"{problem}; as a regular expression: {as_regex}"
    report.invalid(path, value, problem, "invalid-path")


def _check_backend(report: _Report, path: str, raw: object) -> None:
    backend = report.mapping(path, raw, "invalid-backend")
    if backend is None:
        return
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        report.add(path, "must set exactly one of service and resource", "invalid-backend")
    elif service is None and resource is None:
        report.add(path, "must set service", "invalid-backend")
    if resource is not None:
        report.add(f"{path}.resource", "resource backends are not supported", "invalid-backend")
    if service is not None:
        _check_service(report, f"{path}.service", service)


def _check_service(report: _Report, path: str, raw: object) -> None:
    service = report.mapping(path, raw, "invalid-backend")
    if service is None:
        return
    name = report.text(f"{path}.name", service.get("name"), "invalid-backend", required=True)
    if name is not None and not is_dns1035_label(name):
        report.invalid(f"{path}.name", name, _SERVICE_NAME_REASON, "invalid-backend")
    if service.get("port") is None:
        report.add(f"{path}.port", "is required: set port.name or port.number", "invalid-port")
    port = report.mapping(f"{path}.port", service.get("port"), "invalid-port")
    if port is not None:
        _check_service_port(report, f"{path}.port", port)


def _check_service_port(report: _Report, path: str, port: Mapping[Any, Any]) -> None:
    """Exactly one of name and number. Like the API server, an empty name counts as unset;
    unlike it, number 0 is reported as out of range rather than taken as unset."""
    name, number = _unless_empty(port.get("name")), port.get("number")
    if name is not None and number is not None:
        report.add(path, "must set exactly one of name and number", "invalid-port")
    elif name is None and number is None:
        report.add(path, "must set name or number", "invalid-port")
    text = report.text(f"{path}.name", name, "invalid-port")
    if text is not None and not is_port_name(text):
        report.invalid(f"{path}.name", text, _PORT_NAME_REASON, "invalid-port")
    if number is not None:
        _check_port_number(report, f"{path}.number", number)


def _check_port_number(report: _Report, path: str, number: object) -> None:
    """An integer (JSON true is not one, nor is "80" or 80.0) between 1 and 65535."""
    if isinstance(number, bool) or not isinstance(number, int):
        report.add(path, f"must be an integer, not {_json_type(number)}", "invalid-port")
    elif not 1 <= number <= 65535:
        report.invalid(path, number, "must be between 1 and 65535", "invalid-port")


def _check_tls(report: _Report, path: str, raw: object) -> None:
    """Hosts follow `host_problem`; secretName, when set, is a Secret name."""
    entry = report.entry(path, raw, "invalid-tls")
    if entry is None:
        return
    hosts = report.sequence(f"{path}.hosts", entry.get("hosts"), "invalid-tls")
    for index, raw_host in enumerate(hosts or []):
        host_path = f"{path}.hosts[{index}]"
        host = report.text(host_path, raw_host, "invalid-tls", required=True)
        if host is not None:
            _check_host(report, host_path, host, "invalid-tls")
    raw_secret = _unless_empty(entry.get("secretName"))
    secret = report.text(f"{path}.secretName", raw_secret, "invalid-tls")
    if secret is not None and not is_dns1123_subdomain(secret):
        report.invalid(f"{path}.secretName", secret, _SUBDOMAIN_REASON, "invalid-tls")


def _unless_empty(value: object) -> object:
    """None for '' (Go's zero value: the API server treats an empty string as unset)."""
    return None if isinstance(value, str) and value == "" else value


def _keyed(path: str, key: object) -> str:
    """``path[key]`` as the API server writes a map entry; an unusual key is quoted and
    escaped, so it cannot garble the message."""
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key):
        return f"{path}[{key}]"
    return f"{path}[{shown(key)}]"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
