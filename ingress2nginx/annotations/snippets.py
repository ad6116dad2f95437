"""configuration-snippet, server-snippet, stream-snippet: raw nginx text, off by default.

A snippet is nginx configuration written by whoever may edit the Ingress, inserted verbatim:
that is its whole point, and why it is refused unless the person running ingress2nginx says
``--allow-snippet-annotations`` and names the namespaces trusted with it
(``--snippet-namespace NS``, repeatable). Even then a snippet is checked, as defence in depth
and not as a sandbox (docs/snippets.md): it is refused when it holds a control character other
than tab and line feed (CR, NUL, Unicode line breaks), when its braces or quotes do not balance
or its last statement is unfinished (it could close the block it is in, or swallow the
directive after it), or when it loads code or other configuration (`FORBIDDEN_DIRECTIVES`,
names containing ``lua``, ``perl*``, ``js_*``, any ``engine:`` argument). It is not a sandbox:
a trusted snippet can still read and write files nginx can reach (``root``, ``alias``,
``access_log``), as docs/snippets.md says. A refused snippet is a warning naming the Ingress;
the Ingress is served without it.

Where they go, as in ingress-nginx: a configuration-snippet in every location of the
Ingress, a server-snippet in the server of each of its hosts (the oldest Ingress's wins when
several Ingresses set one for a host), a stream-snippet in the ``stream`` block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ingress2nginx.annotations.base import Annotation, Hooks, partly
from ingress2nginx.directives import INDENT, Directive
from ingress2nginx.errors import ObjectRef, Problem, Severity
from ingress2nginx.quoting import comment

if TYPE_CHECKING:
    from ingress2nginx.annotations import IngressOptions
    from ingress2nginx.model import Location, Server
    from ingress2nginx.objects import Manifest
    from ingress2nginx.settings import Settings

FORBIDDEN_DIRECTIVES = frozenset({"load_module", "include", "ssl_engine"})
"""Directives a snippet may not use, besides names containing lua and perl*/js_* names."""
_FORBIDDEN_PATTERN = re.compile(r".*lua|perl|js_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
"""Every control character but tab and line feed, and Unicode line/paragraph separators."""
_GATE = "--allow-snippet-annotations"


@dataclass(frozen=True, slots=True)
class SnippetOptions:
    """Snippets one Ingress asks for (each None when absent or refused)."""

    configuration: str | None = None
    """``configuration-snippet``: text inside each location of the Ingress."""
    server: str | None = None
    """``server-snippet``: text inside the server of each host of the Ingress."""
    stream: str | None = None
    """``stream-snippet``: text inside the ``stream`` block."""


def snippet_text(value: str) -> str:
    """The snippet as written, without blank lines around it (checked in `admit`)."""
    return value.strip("\n ")


_SNIPPET_GATE = (
    "only with --allow-snippet-annotations, and only for Ingresses in namespaces named by"
    " --snippet-namespace; refused when it uses load_module, include, ssl_engine, lua, perl or"
    " js_ directives, holds control characters, or does not balance its braces and quotes"
)

ANNOTATIONS: tuple[Annotation, ...] = (
    partly("configuration-snippet", "Raw nginx directives in each location of the Ingress.",
           _SNIPPET_GATE, "snippets.configuration", snippet_text),
    partly("server-snippet", "Raw nginx directives in the server of each host of the Ingress"
           " (the oldest Ingress's wins).", _SNIPPET_GATE, "snippets.server", snippet_text),
    partly("stream-snippet", "Raw nginx directives in the stream block (needs the stream"
           " module: --stream-module).", _SNIPPET_GATE, "snippets.stream", snippet_text),
)  # fmt: skip

_FIELDS = (
    ("configuration", "configuration-snippet"),
    ("server", "server-snippet"),
    ("stream", "stream-snippet"),
)


# --------------------------------------------------------------------------- admission


def admit(
    ingress: Manifest, options: IngressOptions, settings: Settings
) -> tuple[IngressOptions, list[Problem]]:
    """Drop the snippets this Ingress may not use, with a warning for each."""
    snippets = options.snippets
    if snippets == SnippetOptions():
        return options, []
    problems: list[Problem] = []
    kept: dict[str, str | None] = {}
    for attribute, name in _FIELDS:
        text = getattr(snippets, attribute)
        if text is None:
            continue
        reason = _gate_problem(ingress.namespace, settings) or snippet_problem(text)
        if reason is None:
            continue
        kept[attribute] = None
        where = f"metadata.annotations[nginx.ingress.kubernetes.io/{name}]"
        problems.append(
            Problem(
                Severity.WARNING,
                ingress.ref,
                where,
                f"refused: {reason}; ignored",
                "snippet-refused",
            )
        )
    if not kept:
        return options, problems
    return replace(options, snippets=replace(snippets, **kept)), problems


def _gate_problem(namespace: str, settings: Settings) -> str | None:
    if not settings.allow_snippet_annotations:
        return f"snippet annotations are disabled (see {_GATE})"
    if namespace not in settings.snippet_namespaces:
        return f"namespace {namespace} is not named by --snippet-namespace"
    return None


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class _Word:
    """A token as nginx reads it: its value after unescaping, and where its line is."""

    value: str
    structural: str
    """``;``, ``{`` or ``}`` for those, empty for a word."""


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
    statement: list[str] = []
    for word in words:
        if not word.structural:
            statement.append(word.value)
            continue
        if word.structural == "}":
            if statement:
                return "unexpected } inside a statement"
            depth -= 1
            if depth < 0:
                return "a } closes a block the snippet did not open"
            continue
        if not statement:
            return f"a {word.structural} without a directive name"
        problem = _directive_problem(statement[0]) or _argument_problem(statement[1:])
        if problem:
            return problem
        depth += word.structural == "{"
        statement = []
    if statement:
        return "the last statement is not finished with ; or }"
    if depth:
        return "a { is never closed"
    return None


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
            yield _Word(char, char)
            index += 1
        elif char in "\"'":
            value, index = _quoted(text, index)
            yield _Word(value, "")
        else:
            value, index = _bare(text, index)
            yield _Word(value, "")


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


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class Verbatim(Directive):
    """Snippet text laid out as it was written: the one place raw input reaches nginx.conf,
    and only after `admit` accepted it. A `Directive` without name or arguments, so code
    looking for particular directives among a hook's passes it by."""

    heading: str = ""
    """A comment line naming the snippet and its Ingress (checked by quoting.comment)."""
    text: str = ""

    def lines(self, depth: int) -> list[str]:
        """The heading and the snippet, each line indented unless it continues a string."""
        indent = INDENT * depth
        found = [f"{indent}# {comment(self.heading)}"]
        for line, inside_string in _lines_with_state(self.text):
            found.append(line if inside_string or not line.strip() else indent + line)
        return found


def _lines_with_state(text: str) -> Iterable[tuple[str, bool]]:
    """Each line, and whether it starts inside a quoted string (its indentation is content)."""
    inside: str | None = None
    for line in text.split("\n"):
        yield line, inside is not None
        inside = _quote_state_after(line, inside)


def _quote_state_after(line: str, inside: str | None) -> str | None:
    index = 0
    while index < len(line):
        char = line[index]
        if inside is None and char == "#":
            return None
        if char == "\\":
            index += 2
            continue
        if inside is None and char in "\"'":
            inside = char
        elif char == inside:
            inside = None
        index += 1
    return inside


def _verbatim(kind: str, ingress: str, text: str) -> Verbatim:
    return Verbatim("", heading=f"{kind} of {ingress}", text=text)


def location_directives(location: Location, settings: Settings) -> list[Verbatim]:
    """The configuration-snippet of the location's Ingress."""
    text = location.options.snippets.configuration
    if text is None or location.origin is None:
        return []
    origin = location.origin
    return [_verbatim("configuration-snippet", f"{origin.namespace}/{origin.name}", text)]


def server_directives(server: Server, settings: Settings) -> list[Verbatim]:
    """The server-snippet of the host (settled to one Ingress by `settle_server_snippets`)."""
    found: dict[str, Verbatim] = {}
    for location in server.locations:
        text = location.options.snippets.server
        if text is not None and location.origin is not None:
            ingress = f"{location.origin.namespace}/{location.origin.name}"
            found.setdefault(ingress, _verbatim("server-snippet", ingress, text))
    return [found[name] for name in sorted(found)]


def stream_lines(snippets: Iterable[tuple[str, str]], depth: int) -> list[str]:
    """The stream-snippets, (Ingress, text) in order, as lines of the stream block."""
    return [
        line
        for ingress, text in snippets
        for line in _verbatim("stream-snippet", ingress, text).lines(depth)
    ]


def settle_server_snippets(
    servers: Sequence[Server], oldest_first: Sequence[tuple[str, str]], problems: list[Problem]
) -> tuple[Server, ...]:
    """One server-snippet per host: the oldest Ingress's; the others are dropped, warned."""
    rank = {key: index for index, key in enumerate(oldest_first)}
    settled = []
    for server in servers:
        owners = sorted(
            {
                (location.origin.namespace, location.origin.name)
                for location in server.locations
                if location.options.snippets.server is not None and location.origin is not None
            },
            key=lambda key: rank.get(key, len(rank)),
        )
        if len(owners) < 2:
            settled.append(server)
            continue
        for namespace, name in owners[1:]:
            problems.append(_server_snippet_conflict(namespace, name, server.host, owners[0]))
        settled.append(_without_server_snippets(server, set(owners[1:])))
    return tuple(settled)


def _server_snippet_conflict(
    namespace: str, name: str, host: str, winner: tuple[str, str]
) -> Problem:
    return Problem(
        Severity.WARNING,
        ObjectRef("Ingress", namespace, name),
        "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]",
        f"host {host} already has the server-snippet of {winner[0]}/{winner[1]}; ignored",
        "conflict",
    )


def _without_server_snippets(server: Server, losers: set[tuple[str, str]]) -> Server:
    locations = tuple(
        replace(
            location,
            options=replace(
                location.options, snippets=replace(location.options.snippets, server=None)
            ),
        )
        if location.origin is not None
        and (location.origin.namespace, location.origin.name) in losers
        else location
        for location in server.locations
    )
    return replace(server, locations=locations)


HOOKS = Hooks(location=location_directives, server=server_directives, admit=admit)
