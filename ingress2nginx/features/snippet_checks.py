"""Reading a snippet as nginx will: its words, and whether it may be inserted.

A snippet is checked with nginx's own tokenizer rules (``ngx_conf_read_token``: quotes,
escapes, ``#`` comments, ``${variable}``) so that what the checks see is what nginx will read:
the reasons to refuse one are in snippets.py and docs/snippets.md. The same reading tells
which request headers a snippet sets (`proxy_headers_set`), so that a location whose snippet
adds one keeps the standard set, as it does with ingress-nginx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

FORBIDDEN_DIRECTIVES = frozenset({"load_module", "include", "ssl_engine"})
"""Directives a snippet may not use, besides names containing lua and perl*/js_* names."""
_FORBIDDEN_PATTERN = re.compile(r".*lua|perl|js_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
"""Every control character but tab and line feed, and Unicode line/paragraph separators."""


@dataclass(frozen=True, slots=True)
class _Word:
    """A token as nginx reads it: its value after unescaping, and where its line is."""

    value: str
    structural: str
    """``;``, ``{`` or ``}`` for those, empty for a word."""
    start: int = 0
    end: int = 0
    """Where the token stands in the snippet's text (``text[start:end]``)."""


def snippet_problem(text: str) -> str | None:
    """Why `text` may not be inserted into nginx.conf, or None."""
    bad = _CONTROL.search(text)
    if bad is not None:
        return f"the snippet holds the control character U+{ord(bad.group()):04X}"
    try:
        words = list(_words(text))
    except ValueError as error:
        return str(error)
    return _structure_problem(words)


def _structure_problem(words: Sequence[_Word]) -> str | None:
    depth = 0
    for statement in _statements(words):
        if statement.end == "}":
            if statement.words:
                return "unexpected } inside a statement"
            if statement.depth < 0:
                return "a } closes a block the snippet did not open"
            depth = statement.depth
            continue
        if not statement.end:
            return "the last statement is not finished with ; or }"
        if not statement.words:
            return f"a {statement.end} without a directive name"
        name, *arguments = statement.words
        problem = _directive_problem(name) or _argument_problem(arguments)
        if problem:
            return problem
        depth = statement.depth + (statement.end == "{")
    if depth:
        return "a { is never closed"
    return None


@dataclass(frozen=True, slots=True)
class _Statement:
    """The words before a ``;``, ``{`` or ``}``, and the block depth where it stands."""

    words: tuple[str, ...]
    end: str
    """``;``, ``{`` or ``}``; empty for words left unfinished at the end of the text."""
    depth: int
    """0 at the snippet's top level; a ``}`` stands at the depth of the block it closes."""


def _statements(words: Sequence[_Word]) -> Iterator[_Statement]:
    """The words grouped into statements as nginx groups them, each with its depth."""
    depth, statement = 0, []
    for word in words:
        if not word.structural:
            statement.append(word.value)
            continue
        depth -= word.structural == "}"
        yield _Statement(tuple(statement), word.structural, depth)
        depth += word.structural == "{"
        statement = []
    if statement:
        yield _Statement(tuple(statement), "", depth)


def _directive_problem(name: str) -> str | None:
    lowered = name.lower()
    if lowered in FORBIDDEN_DIRECTIVES or _FORBIDDEN_PATTERN.match(lowered):
        return f"the directive {lowered!r} is not allowed in snippets"
    return None


def _argument_problem(arguments: Sequence[str]) -> str | None:
    """An ``engine:`` argument (``ssl_certificate_key engine:/path/x.so:key``) makes OpenSSL
    load a shared object when nginx reads the config: refused like ssl_engine, in any
    directive."""
    for argument in arguments:
        if argument.strip().lower().startswith("engine:"):
            return "an engine: argument (it loads an OpenSSL engine) is not allowed in snippets"
    return None


def _words(text: str) -> Iterator[_Word]:
    """nginx's tokenizer (ngx_conf_read_token): words, quoted strings, ``;``, ``{``, ``}``,
    ``#`` comments to the end of the line. ValueError for an unterminated quote."""
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char in " \t\n":
            index += 1
        elif char == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
        elif char in ";{}":
            yield _Word(char, char, index, index + 1)
            index += 1
        elif char in "\"'":
            start = index
            value, index = _quoted(text, index)
            yield _Word(value, "", start, index)
        else:
            start = index
            value, index = _bare(text, index)
            yield _Word(value, "", start, index)


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote, index, value = text[start], start + 1, []
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            value.append(_unescape(text[index + 1]))
            index += 2
            continue
        if char == quote:
            following = text[index + 1 : index + 2]
            if following == ")":  # nginx drops it: if ($x = "y")
                return "".join(value), index + 2
            if following and following not in " \t\n;{":
                raise ValueError("a quoted string is followed by more text without a space")
            return "".join(value), index + 1
        value.append(char)
        index += 1
    raise ValueError("a quoted string is never closed")


def _bare(text: str, start: int) -> tuple[str, int]:
    index, value, variable = start, [], False
    while index < len(text):
        char = text[index]
        if char == "{" and variable:
            value.append(char)
            index += 1
            continue
        variable = char == "$"
        if char == "\\" and index + 1 < len(text):
            value.append(_unescape(text[index + 1]))
            index += 2
            continue
        if char in " \t\n;{":
            break
        value.append(char)
        index += 1
    return "".join(value), index


def _unescape(char: str) -> str:
    """What nginx makes of a backslash and `char`: only \\" \\' \\\\ \\t \\r \\n are escapes."""
    return {"t": "\t", "r": "\r", "n": "\n", '"': '"', "'": "'", "\\": "\\"}.get(char, "\\" + char)


def continued_lines(text: str) -> frozenset[int]:
    """The lines (0-based) of `text` that begin inside a token: the line feed before them is
    part of a quoted string or escaped by a backslash, so indenting them would change what
    nginx reads. Empty for a snippet `snippet_problem` refuses."""
    try:
        words = [word for word in _words(text) if not word.structural]
    except ValueError:
        return frozenset()
    found: set[int] = set()
    for word in words:
        newline = text.find("\n", word.start, word.end)
        while newline >= 0:
            found.add(text.count("\n", 0, newline) + 1)
            newline = text.find("\n", newline + 1, word.end)
    return frozenset(found)


def proxy_headers_set(text: str) -> frozenset[str]:
    """The request headers (lowercased) the snippet's own top-level ``proxy_set_header``
    lines set; those inside a block (``if``, a nested ``location``) are left to that block.
    Empty for a snippet `snippet_problem` refuses."""
    try:
        words = list(_words(text))
    except ValueError:
        return frozenset()
    return frozenset(
        statement.words[1].lower()
        for statement in _statements(words)
        if statement.end == ";"
        and statement.depth == 0
        and len(statement.words) > 1
        and statement.words[0].lower() == "proxy_set_header"
    )
