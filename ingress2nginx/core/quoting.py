"""The one place where values become nginx tokens.

Every value the templates emit passes through here. A `Token` is a string that may be written
into nginx.conf as is: either produced by `literal`/`expanded` from a checked value, or a
`trusted` piece of text written by the template author (never user data). The Jinja
environment's ``finalize`` hook (see rendering.py) refuses anything else, so a template edit
cannot reintroduce raw interpolation.

nginx reads a configuration token by token. Inside double quotes, ``\\"`` and ``\\\\`` are
escapes (and ``\\n``, ``\\r``, ``\\t`` too, which is why every backslash is escaped);
``;``, ``{``, ``}``, ``#`` and whitespace lose their meaning. Quoting makes a value one
token; it cannot change what a directive does with that token, so values are also checked
against allowlists before they get here (validating.py). Two rules hold everywhere: no
character that could end a line (CR, LF, NEL, U+2028, U+2029) or any control character ever
reaches the output, and ``$`` only reaches positions where nginx does not expand variables —
except as a variable reference the program chose: in `trusted` text, or through `interpolated`,
where each reference is a checked `variable` name from the caller's allowlist.
"""

from __future__ import annotations

import re

from ingress2nginx.core.errors import TemplateError


class Token(str):
    """A string that is safe to write into nginx.conf exactly as it is."""

    __slots__ = ()


class UnsafeValueError(TemplateError):
    """A value that must never reach nginx.conf got this far: a bug in validation."""


_BARE = re.compile(r"[A-Za-z0-9_./:@%+,=*!^~$\[\]-]+\Z")
"""Characters nginx reads as part of a plain word, needing no quotes."""

_ESCAPE = re.compile(r'"|\\(?=["\'\\nrt]|\Z)')
r"""What nginx would unescape inside double quotes: a quote, and a backslash that starts one of
nginx's escapes (backslash, quote, n, r, t) or ends the value. Any other backslash nginx keeps
as it is, so regexes like ``\.`` stay readable."""

_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Control characters (C0, DEL, C1 including NEL) and Unicode line/paragraph separators."""


def literal(value: str) -> Token:
    """Quote a value for a position where nginx does NOT expand variables.

    Such positions are ``location`` paths, ``server_name``, ``map`` keys and file names:
    there ``$`` is an ordinary character and passes through.
    """
    if _BARE.match(value):  # only plain-word characters: none of them is refused
        return Token(value)
    _refuse_control(value)
    escaped = _ESCAPE.sub(lambda found: "\\" + found.group(), value)
    return Token(f'"{escaped}"')


def expanded(value: str) -> Token:
    """Quote a value for a position where nginx expands ``$variables``.

    Such positions are ``proxy_pass``, ``set``, ``return``, header values. nginx offers no
    escape for ``$`` there, so a value containing one is refused outright: it must have been
    rejected (or transformed) during validation.
    """
    if "$" in value:
        raise UnsafeValueError(f"refusing to emit {value!r}: '$' would be expanded by nginx")
    return literal(value)


def with_captures(value: str) -> Token:
    """Quote a rewrite replacement: ``$`` may appear only as a capture group ``$1``…``$9``."""
    if re.search(r"\$(?![1-9])", value):
        raise UnsafeValueError(f"refusing to emit {value!r}: only $1..$9 may follow '$'")
    return literal(value)


def compose(*parts: Token | str) -> Token:
    """One argument joined from trusted pieces (`trusted` tokens, e.g. ``$scheme://``) and
    user values (plain strings, in which ``$`` is refused), quoted as a whole."""
    for part in parts:
        if not isinstance(part, Token) and "$" in part:
            raise UnsafeValueError(f"refusing to emit {part!r}: '$' would be expanded by nginx")
    return literal("".join(parts))


class Variable(str):
    """A reference to an nginx variable by name, made only by `variable`."""

    __slots__ = ()


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


def variable(name: str) -> Variable:
    """A variable reference for `interpolated`: the name is checked to be one nginx reads as
    a whole name (letters, digits, ``_``; not a ``$1`` capture). Which variables a value may
    use is the caller's allowlist (e.g. upstream-hash-by's in annotations/balancing.py)."""
    if not _VARIABLE_NAME.match(name):
        raise UnsafeValueError(f"not an nginx variable name: {name!r}")
    return Variable(name)


def interpolated(*parts: Variable | str) -> Token:
    """One argument for a position where nginx expands variables, made of `variable`
    references and checked text (in which ``$`` is refused), quoted as a whole.

    A reference is written ``$name``, or ``${name}`` when the text after it starts with a
    character nginx would read as part of the name, so it never swallows the text that
    follows. Nothing else in the result can start a variable.
    """
    written: list[str] = []
    for index, part in enumerate(parts):
        if not isinstance(part, Variable):
            if "$" in part:
                raise UnsafeValueError(f"refusing to emit {part!r}: '$' would be expanded")
            written.append(part)
            continue
        following = parts[index + 1] if index + 1 < len(parts) else ""
        glued = not isinstance(following, Variable) and _NAME_CHAR.match(following[:1])
        written.append(f"${{{part}}}" if glued else f"${part}")
    text = "".join(written)
    if not text:
        raise UnsafeValueError("refusing to emit an empty interpolated value")
    return literal(text)


def trusted(text: str) -> Token:
    """Mark text written by this program's authors (not from input) as safe to emit."""
    _refuse_control(text, allow_newlines=True)
    return Token(text)


def comment(text: str) -> Token:
    """Text for an nginx comment: only a plain, fixed character set may appear in one."""
    if not _COMMENT_SAFE.match(text):
        raise UnsafeValueError(f"refusing to emit {text!r} in a comment")
    return Token(text)


_COMMENT_SAFE = re.compile(r"[A-Za-z0-9 ._/:,()\[\]=*-]*\Z")


_REFUSED_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
"""`_REFUSED` without the line feed (which trusted text may hold)."""


def _refuse_control(value: str, *, allow_newlines: bool = False) -> None:
    if (_REFUSED_BUT_NEWLINE if allow_newlines else _REFUSED).search(value) is not None:
        raise UnsafeValueError(f"refusing to emit {value!r}: control or line-break character")
