"""nginx directives as data: a name, argument tokens, and an optional block.

Features that add directives to a location or a server (most annotations) build `Directive`
records from tokens made by quoting.py; rendering lays them out. Names are checked against
nginx's directive syntax here, arguments are already tokens, so a directive can never carry
unchecked text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ingress2nginx.core.quoting import Token, UnsafeValueError

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
INDENT = "    "


@dataclass(frozen=True, slots=True)
class Directive:
    """``name arg ...;`` or, with a block, ``name arg ... { ... }``."""

    name: str
    args: tuple[Token, ...] = ()
    block: tuple[Directive, ...] | None = None

    def lines(self, depth: int) -> list[str]:
        """The directive as indented lines of text."""
        indent = INDENT * depth
        head = " ".join((self.name, *self.args))
        if self.block is None:
            return [f"{indent}{head};"]
        inner = [line for directive in self.block for line in directive.lines(depth + 1)]
        return [f"{indent}{head} {{", *inner, f"{indent}}}"]


def directive(name: str, *args: Token | int) -> Directive:
    """A simple directive; integers become tokens, everything else must already be one."""
    return Directive(_checked(name), tuple(map(_token, args)))


def block(name: str, args: Iterable[Token | int], body: Iterable[Directive]) -> Directive:
    """A block directive (``if (...) { ... }``, ``limit_except GET { ... }``)."""
    return Directive(_checked(name), tuple(_token(arg) for arg in args), tuple(body))


def entry(key: Token, value: Token) -> Directive:
    """An entry inside ``map``, ``split_clients`` or ``geo`` (``key value;``): a key token
    where a directive has its name."""
    return Directive(key, (value,))


def render_lines(directives: Iterable[Directive], depth: int) -> Token:
    """Directives laid out at `depth`, one a line, as a token the templates may emit."""
    return Token("\n".join([line for item in directives for line in item.lines(depth)]))


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise UnsafeValueError(f"not a directive name: {name!r}")
    return name


def _token(value: Token | int) -> Token:
    if isinstance(value, Token):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Token(str(value))
    raise UnsafeValueError(f"directive argument {value!r} is not a token")
