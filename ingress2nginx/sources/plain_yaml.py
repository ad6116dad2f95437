"""Plain YAML documents built straight from libyaml's events: the fast path of parsing.py.

PyYAML's C loader scans and parses in C, but builds every node and then every Python value
in Python, through generic constructors; at ten thousand Ingresses that is most of a render.
Manifests use a small part of YAML: mappings, sequences and scalars that resolve to the core
tags. `plain_documents` builds exactly those from the parser's events, one function per kind
of node, resolving each plain scalar with PyYAML's own resolver and converting it with PyYAML's
own constructors, so a document it returns is the one ``yaml.load_all(Loader=CSafeLoader)``
returns.

Anything else — an anchor or alias, an explicit tag other than ``!!map``, ``!!seq`` or
``!!str``, a merge key, a mapping or sequence used as a key, nesting deeper than
`MAX_DEPTH`, or any error — makes it return None, and the caller parses the text again with
the full loader, which gives the value or the error PyYAML always gave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

MAX_DEPTH = 64
"""Deeper documents take the full loader (a Kubernetes object nests about ten levels)."""

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(tag: str) -> Callable[[str], object]:
    """PyYAML's own constructor of one core tag, for a scalar's text."""
    method = _CONSTRUCTOR.yaml_constructors[tag]
    return lambda text: method(_CONSTRUCTOR, ScalarNode(tag, text))


_SCALARS: dict[str, Callable[[str], object]] = {
    tag: _scalar(tag)
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    )
}


class Scalars:
    """What is learnt about scalar texts while reading one source, shared by its documents:
    the value of each plain text (the resolver's answer and the constructor's depend on the
    text alone, and every core value is immutable), and one string object per distinct text,
    so repeated values share their memory."""

    __slots__ = ("plain", "texts")

    def __init__(self) -> None:
        self.plain: dict[str, object] = {}
        self.texts: dict[str, str] = {}


class _NotPlain(Exception):
    """The text uses YAML beyond what `plain_documents` builds."""


def plain_documents(text: str, scalars: Scalars) -> list[object] | None:
    """The documents of a YAML text, or None when it needs the full loader (see above)."""
    found = plain_stream(text, scalars)
    return None if found is None else [document for _, document in found]


def plain_stream(text: str, scalars: Scalars) -> list[tuple[int, object]] | None:
    """Like `plain_documents`, each document with the 0-based line its start event is on
    (its ``---``, or its first token for a document without one)."""
    if not hasattr(yaml, "CSafeLoader"):
        return None
    loader = yaml.CSafeLoader(text)
    try:
        if loader.yaml_path_resolvers or None in loader.yaml_implicit_resolvers:
            return None  # tags that depend on more than the text
        return _Builder(loader, scalars).documents()
    except Exception:  # the full loader reports it, as it always has
        return None
    finally:
        loader.dispose()


class _Builder:
    """Values from one loader's events: a function per kind of node, each reading the events
    of its node up to the node's end."""

    __slots__ = ("_loader", "_may_resolve", "_next_event", "_plain", "_texts")

    def __init__(self, loader: yaml.CSafeLoader, scalars: Scalars) -> None:
        self._loader = loader
        self._next_event: Callable[[], Any] = loader.get_event
        self._may_resolve = loader.yaml_implicit_resolvers  # by first character; "" for empty
        self._plain, self._texts = scalars.plain, scalars.texts

    def documents(self) -> list[tuple[int, object]]:
        """Each document with the 0-based line its start event is on."""
        next_event = self._next_event
        next_event()  # the stream's start
        found: list[tuple[int, object]] = []
        while True:
            start = next_event()
            if type(start) is StreamEndEvent:
                return found
            line: int = start.start_mark.line  # a document's start: nothing else comes here
            found.append((line, self._node(next_event(), 1)))
            if type(next_event()) is not DocumentEndEvent:
                raise _NotPlain

    def _node(self, event: Any, depth: int) -> object:
        kind = type(event)
        if kind is ScalarEvent:
            return self._scalar(event)
        if kind is MappingStartEvent:
            return self._mapping(event, depth)
        if kind is SequenceStartEvent:
            return self._sequence(event, depth)
        raise _NotPlain  # an alias

    def _mapping(self, start: Any, depth: int) -> dict[object, object]:
        _check_collection(start, _MAP, depth)
        next_event, scalar = self._next_event, self._scalar
        mapping: dict[object, object] = {}
        while True:
            event = next_event()
            kind = type(event)
            if kind is MappingEndEvent:
                return mapping
            if kind is not ScalarEvent:
                raise _NotPlain  # a mapping or sequence as a key, or an alias
            key = scalar(event)
            event = next_event()
            if type(event) is ScalarEvent:
                mapping[key] = scalar(event)
            else:
                mapping[key] = self._node(event, depth + 1)

    def _sequence(self, start: Any, depth: int) -> list[object]:
        _check_collection(start, _SEQ, depth)
        next_event, scalar = self._next_event, self._scalar
        sequence: list[object] = []
        while True:
            event = next_event()
            kind = type(event)
            if kind is ScalarEvent:
                sequence.append(scalar(event))
            elif kind is SequenceEndEvent:
                return sequence
            else:
                sequence.append(self._node(event, depth + 1))

    def _scalar(self, event: Any) -> object:
        """A scalar's value: plain texts resolved as PyYAML resolves them (once per text),
        quoted and ``!!str`` ones strings; explicit core tags constructed."""
        if event.anchor is not None:
            raise _NotPlain
        text = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return self._texts.setdefault(text, text)  # quoted: a string
            value = self._plain.get(text, _UNSEEN)
            if value is _UNSEEN:
                value = self._plain[text] = self._resolved(text)
            return value
        return self._tagged(tag, text)

    def _resolved(self, text: str) -> object:
        """A plain text's value, as PyYAML's resolver and constructors make it."""
        if text[:1] not in self._may_resolve:  # no implicit resolver looks at it
            return self._texts.setdefault(text, text)
        tag = cast(str, self._loader.resolve(ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]
        return self._tagged(tag, text)

    def _tagged(self, tag: str, text: str) -> object:
        if tag == _STR:
            return self._texts.setdefault(text, text)
        construct = _SCALARS.get(tag)
        if construct is None:
            raise _NotPlain
        return construct(text)


_UNSEEN = object()


def _check_collection(start: Any, standard: str, depth: int) -> None:
    """A mapping or sequence plain YAML builds: no anchor, no tag but its own, not too deep."""
    if start.anchor is not None or start.tag not in (None, "!", standard):
        raise _NotPlain
    if depth > MAX_DEPTH:
        raise _NotPlain
