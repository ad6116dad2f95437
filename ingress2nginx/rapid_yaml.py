"""Plain YAML documents through rapidyaml: the fastest path of parsing.py, tried first.

libyaml's event parser alone costs more than half of a 10,000-Ingress render from YAML, so no
Python-side construction (plain_yaml.py) can make YAML input cheap. rapidyaml (``ryml``)
parses in C++ about eight times faster and can write its tree as JSON in C++, which Python's
C JSON decoder reads. That detour loses what separates YAML 1.1 (PyYAML, and Kubernetes'
reading of manifests) from JSON, so a document is taken from it only when nothing was lost:

- the text carries no tag, anchor, alias, merge key, complex key, directive, document end
  marker, tab or character PyYAML refuses (`_BEYOND_PLAIN`, a conservative look at the text);
- every string it returns reads as a string under PyYAML's resolver too, or was quoted (or a
  block scalar) in the text: the tree is searched for an unquoted scalar of that text, as
  ``creationTimestamp: '2024-06-01T00:00:00Z'`` and ``'true'`` labels need;
- it holds no float (rapidyaml may rewrite a float's text, ``1.`` as ``1.0``), and every key
  reads as a string under PyYAML's resolver.

Anything else, and any rapidyaml error, returns None: the caller takes plain_yaml.py and then
PyYAML's full loader, which give the value or the error (with its line) PyYAML always gave.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import yaml
from yaml.nodes import ScalarNode

from ingress2nginx.plain_yaml import Scalars

try:
    import ryml
except ImportError:  # optional: without it, parsing.py goes straight to libyaml
    ryml = None

_STR = "tag:yaml.org,2002:str"
_BEYOND_PLAIN = re.compile(r"(?:^|[\s\[{,:])[&*]|(?:^|[\s\[{,])\?(?:\s|$)", re.MULTILINE)
"""Anchors, aliases and complex keys (looked for only when the text has ``&``, ``*``, ``?``)."""
_REFUSED_BY_PYYAML = re.compile(
    "[^\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
"""Characters PyYAML's reader refuses, the tab (which it refuses as indentation), and the line
breaks of YAML 1.1 that YAML 1.2 reads as text (NEL, LS, PS)."""
_LONE_CR = re.compile("\r(?!\n)")
"""A line break in YAML 1.1 (PyYAML), not in rapidyaml."""
_INDICATOR_FIRST = re.compile(r"(?:^|\s)[\]},@`]", re.MULTILINE)
"""A scalar starting with an indicator PyYAML refuses there, and rapidyaml may read as text."""
_BLOCK_HEADER_BEYOND = re.compile(r"(?:^|\s)[|>](?![-+]?[ ]*$)|^[|>]|^- [|>]", re.MULTILINE)
"""A block scalar header other than ``|``, ``>`` and their chomping (or a ``>`` in text), or
one at the top level or of an unindented sequence item (rapidyaml reads unindented text)."""
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
"""The same for ASCII text."""
_FLOW = re.compile(r"[\[\]{}]")
"""Flow collections other than the empty ``[]`` and ``{}`` manifests are written with."""
_RESOLVER = yaml.SafeLoader("")
_MAY_RESOLVE = _RESOLVER.yaml_implicit_resolvers
_CANDIDATE = re.compile(
    '"([' + re.escape("".join(first for first in _MAY_RESOLVE if first)) + '][^"\\\\]*)"'
)
"""A JSON string (without escapes) that PyYAML might read as another type if it were plain;
a string with escapes never does (PyYAML's patterns hold no quote, backslash or line break)."""
if ryml is not None:
    _VAL = ryml.VAL
    _QUOTED = ryml.VAL_SQUO | ryml.VAL_DQUO | ryml.VAL_LITERAL | ryml.VAL_FOLDED
    _KEY = ryml.KEY
    _QUOTED_KEY = ryml.KEY_SQUO | ryml.KEY_DQUO | ryml.KEY_LITERAL | ryml.KEY_FOLDED


class _NotPlain(Exception):
    """The document's JSON may differ from PyYAML's value."""


def rapid_documents(text: str, scalars: Scalars) -> list[object] | None:
    """The documents of one YAML text, or None when the slower paths must read it."""
    if ryml is None or _beyond_plain(text):
        return None
    try:
        tree = ryml.parse_in_arena(text.encode())
        root = tree.root_id()
        if tree.is_stream(root):
            nodes = list(ryml.children(tree, root))
        elif tree.is_map(root) or tree.is_seq(root) or tree.is_val(root):
            nodes = [root]
        else:  # no document (only comments), or something this path does not know
            return None
        written = [_json(tree, node) for node in nodes]
        if not _only_quoted(text, tree, written, scalars.tags):
            return None
        return [_DECODER.decode(json_text) for json_text in written]
    except Exception:  # rapidyaml's errors, _NotPlain: the slower paths report or read it
        return None


def _json(tree: Any, node: int) -> str:
    """The JSON of one node, written into a buffer of ours (``emit_json_malloc`` leaks its)."""
    buffer = bytearray(ryml.compute_json_length(tree, node))
    ryml.emit_json_in_place(tree, buffer, node)
    return buffer.decode()


def _beyond_plain(text: str) -> bool:
    """Whether the text may use YAML this path does not read as PyYAML does."""
    if "!" in text or "<<" in text or "\n%" in text or "\n..." in text:
        return True  # tags, merge keys, directives, document end markers
    if text.startswith(("%", "...")):
        return True
    if ("&" in text or "*" in text or "?" in text) and _BEYOND_PLAIN.search(text):
        return True
    if "\r" in text and _LONE_CR.search(text):
        return True
    if ("|" in text or ">" in text) and _BLOCK_HEADER_BEYOND.search(text):
        return True
    if ("[" in text or "{" in text) and _FLOW.search(text.replace("[]", "").replace("{}", "")):
        return True  # rapidyaml reads some broken flow collections PyYAML refuses
    refused = _CONTROL if text.isascii() else _REFUSED_BY_PYYAML
    return refused.search(text) is not None or _INDICATOR_FIRST.search(text) is not None


def _only_quoted(text: str, tree: Any, written: list[str], tags: dict[str, str]) -> bool:
    """Whether every string of the JSON that PyYAML would read as another type unquoted was
    quoted (or a block scalar) in the text."""
    unquoted_in_tree: set[str] = set()
    for json_text in written:
        if '""' in json_text:
            unquoted_in_tree.add("")
        for candidate in set(_CANDIDATE.findall(json_text)):
            tag = tags.get(candidate)
            if tag is None:
                tag = tags[candidate] = _resolve(candidate)
            if tag == _STR:
                continue
            if any(space in candidate for space in " \r\n"):
                unquoted_in_tree.add(candidate)  # folded lines may have made it: ask the tree
            elif text.count(candidate) != text.count(f"'{candidate}'") + text.count(
                f'"{candidate}"'
            ):
                return False  # it appears unquoted in the text
    return not unquoted_in_tree or not _plain_among(tree, unquoted_in_tree)


def _plain_among(tree: Any, texts: set[str]) -> bool:
    """Whether a key or value written unquoted in the tree has one of these texts."""
    wanted = {text.encode() for text in texts}
    kind, key, value = tree.type, tree.key, tree.val
    for node in range(tree.size()):
        flags = kind(node)
        if flags & _VAL and not flags & _QUOTED and bytes(value(node)) in wanted:
            return True
        if flags & _KEY and not flags & _QUOTED_KEY and bytes(key(node)) in wanted:
            return True
    return False


def _no_float(text: str) -> float:
    """rapidyaml may rewrite a float's text (``1.`` as ``1.0``): PyYAML reads those."""
    raise _NotPlain


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float, strict=False)


def _resolve(text: str) -> str:
    """PyYAML's tag for a plain scalar's text."""
    return cast(str, _RESOLVER.resolve(ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]
