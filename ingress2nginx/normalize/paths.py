"""What a valid Ingress path looks like, and the path nginx actually compares.

An Exact or Prefix path (and an ImplementationSpecific one not used as a regex) must be an
absolute URL path (`path_problem`); nginx percent-decodes the request before it matches a
``location``, so `location_path` gives the decoded form. ImplementationSpecific paths of
Ingresses using use-regex must pass `regex_path_problem`, a conservative PCRE allowlist:
regex paths are the classic injection vector.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_to_bytes

from ingress2nginx.core.errors import shown
from ingress2nginx.core.grammar import refused_characters

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
    ImplementationSpecific, when not used as a regex, is matched as Prefix (as ingress-nginx
    does), so the same rules apply; its empty path is allowed (the API allows it) and means '/'
    (`location_path`).
    Stricter than the API server, because nginx percent-decodes the request path before it
    compares it with a ``location``:

    - of ASCII, only RFC 3986 pchar characters and '/' (``A-Za-z0-9-._~!$&'()*+,;=:@/``) or
      ``%XX`` escapes; so no '?' or '#' (the query never takes part), no space, quote, brace or
      backslash (they are nginx syntax: percent-encode them), no lone '%'. Other characters
      may be written as themselves, as the API allows: ``/café`` and ``/caf%C3%A9`` are the
      same path, the one nginx compares after decoding;
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
    if len(path) <= PATH_MAX_LENGTH and _QUIET_PATH.match(path):
        return _dot_segment_problem(path, path)  # nothing else to find in it, no regex sign
    sign = regex_sign(path)
    if sign is not None and path_type != IMPLEMENTATION_SPECIFIC:
        return (
            f"looks like a regular expression ({shown(sign)}), but pathType {path_type} matches"
            " the path as written: use pathType ImplementationSpecific with the annotation"
            ' nginx.ingress.kubernetes.io/use-regex: "true"'
        )
    return _literal_path_problem(path)


_QUIET_PATH: Final = re.compile(r"/[-A-Za-z0-9._~/]*\Z")
"""A path of letters, digits, ``-._~`` and '/' only (most paths): no regex sign can be in it,
and of the literal checks, past its length, only the dot segments' may find something."""

_REGEX_SIGNS: Final = re.compile(
    r"\.[*+?]|[)\]][*+?]|\(\?|\\[dDwWsS.]|\[[^\]/]*\]|\{[0-9]{1,3}(,[0-9]{0,3})?\}|\||\A\^"
    r"|\$(?=[)|]|\Z)"
)
"""What a regular expression has and a URL path written by hand never does: ``.*``, ``.+``,
``(...)?``, ``(?:``, ``\\d``, a class ``[0-9]``, a quantifier ``{2}``, ``|``, a leading ``^``,
a ``$`` at the end. Not a ``?`` alone: ``/search?q=1`` is a query string, told apart."""


def regex_sign(path: str) -> str | None:
    """The first piece of `path` that shows it was meant as a regular expression, or None."""
    found = _REGEX_SIGNS.search(path)
    return found.group() if found else None


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
    if _PLAIN_PATH.match(path):
        return path  # nothing to decode
    return unquote_to_bytes(path).decode("utf-8")


_PLAIN_PATH: Final = re.compile(r"/[-A-Za-z0-9._~!$&'()*+,;=:@/]*\Z")
"""A path of pchar characters and '/' only, without escapes: nothing to decode or refuse in it
(most paths; the checks below give it no other answer than its dot segments')."""


def _literal_path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be an absolute path (start with '/')"
    if len(path) > PATH_MAX_LENGTH:
        return f"must be no more than {PATH_MAX_LENGTH} characters"
    if _PLAIN_PATH.match(path):
        return _dot_segment_problem(path, path)
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
        elif char not in _PCHAR and char.isascii():
            return _path_character_reason(char)
    return None


def _path_character_reason(char: str) -> str:
    if char in "?#":
        return "must not contain '?' or '#': the query string never takes part in matching"
    return f"must not contain {shown(char)}; percent-encode it"


def _dot_segment_problem(path: str, decoded: str) -> str | None:
    if "/." not in decoded and "//" not in decoded:
        return None  # every dot segment and suffix below holds one of them
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
