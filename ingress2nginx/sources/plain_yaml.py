"""Plain YAML documents built straight from libyaml's events: the fast path of parsing.py.

PyYAML's C loader scans and parses in C, but builds every node and then every Python value
in Python, through generic constructors; at ten thousand Ingresses that is most of a render.
Manifests use a small part of YAML: mappings, sequences and scalars that resolve to the core
tags. `plain_documents` builds exactly those from the parser's events in one loop, resolving
each plain scalar with PyYAML's own resolver and converting it with PyYAML's own constructors,
so a document it returns is the one ``yaml.load_all(Loader=CSafeLoader)`` returns.

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
_CONTAINERS = {MappingStartEvent: (dict, _MAP), SequenceStartEvent: (list, _SEQ)}


class Scalars:
    """What is learnt about scalar texts while reading one source, shared by its documents:
    the tag of each plain text (the resolver's answer depends on the text alone), and one
    string object per distinct text, so repeated values share their memory."""

    __slots__ = ("tags", "texts")

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}
        self.texts: dict[str, str] = {}


class _NotPlain(Exception):
    """The text uses YAML beyond what `plain_documents` builds."""


def plain_documents(text: str, scalars: Scalars) -> list[object] | None:
    """The documents of a YAML text, or None when it needs the full loader (see above)."""
    if not hasattr(yaml, "CSafeLoader"):
        return None
    loader = yaml.CSafeLoader(text)
    try:
        if loader.yaml_path_resolvers or None in loader.yaml_implicit_resolvers:
            return None  # tags that depend on more than the text
        documents: list[object] = []
        loader.get_event()  # the stream's start
        while type(loader.get_event()) is not StreamEndEvent:  # a document's start
            documents.append(_document(loader, scalars))
        return documents
    except Exception:  # the full loader reports it, as it always has
        return None
    finally:
        loader.dispose()


def _resolve(loader: yaml.CSafeLoader, text: str) -> str:
    """PyYAML's tag for a plain scalar's text."""
    return cast(str, loader.resolve(ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


def _document(loader: yaml.CSafeLoader, scalars: Scalars) -> object:
    """One document's value, its events read up to its end."""
    next_event = loader.get_event
    may_resolve = loader.yaml_implicit_resolvers  # by first character; "" for the empty text
    tags, texts = scalars.tags, scalars.texts
    open_: list[tuple[Any, object, bool]] = []
    """Containers being filled: each with its parent's pending key, and whether it had one."""
    key: object = None
    has_key = False
    root: object = None
    while True:
        event: Any = next_event()
        kind = type(event)
        value: object
        if kind is ScalarEvent:
            if event.anchor is not None:
                raise _NotPlain
            text = event.value
            tag = event.tag
            if tag is None or tag == "!":
                if not event.implicit[0] or text[:1] not in may_resolve:
                    tag = _STR  # quoted, or plain text no implicit resolver looks at
                else:
                    tag = tags.get(text)
                    if tag is None:
                        tag = tags[text] = _resolve(loader, text)
            if tag == _STR:
                value = texts.setdefault(text, text)
            else:
                construct = _SCALARS.get(tag)
                if construct is None:
                    raise _NotPlain
                value = construct(text)
        elif kind in _CONTAINERS:
            make, standard = _CONTAINERS[kind]
            if event.anchor is not None or event.tag not in (None, "!", standard):
                raise _NotPlain
            if len(open_) >= MAX_DEPTH:
                raise _NotPlain
            open_.append((make(), key, has_key))
            key, has_key = None, False
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value, key, has_key = open_.pop()
        elif kind is DocumentEndEvent:
            return root
        else:  # an alias
            raise _NotPlain
        if not open_:
            root = value
            continue
        container = open_[-1][0]
        if type(container) is list:
            container.append(value)
        elif has_key:
            container[key] = value
            has_key = False
        elif type(value) is dict or type(value) is list:
            raise _NotPlain
        else:
            key, has_key = value, True
