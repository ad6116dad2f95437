"""The line of a manifest a problem's field path points at, so CI annotations land on it.

The loader keeps only the line each document starts on (parsing.py); `check --format github`
and ``--format json`` want the line of the field itself (``spec.rules[0].host``). This module
reads the file again, composes that one document with PyYAML (node positions, no values
built) and walks the field path down it. Where the path cannot be followed all the way (a
legacy Ingress converted to v1, an object inside a ``List``), the deepest node reached gives
the line; a file that cannot be read or parsed again gives the document's own line.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from ingress2nginx.sources.parsing import decode, document_chunk

_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def field_line(path: str, document_line: int, field: str) -> int:
    """The 1-based line of `field` in the document of file `path` starting at `document_line`
    (that line when the field cannot be found)."""
    root = _document_node(path, document_line)
    if root is None or not field:
        return document_line
    node, line = root, root.start_mark.line
    for name, bracketed in _STEP.findall(field):
        child = _child(node, name or bracketed)
        if child is None:
            break
        node, line = child
    return document_line + line  # marks count from the chunk's first line, the document's


def _child(node: yaml.Node, step: str) -> tuple[yaml.Node, int] | None:
    """The node under `node` at `step`, and the line naming it (a mapping key's own line: a
    nested mapping's first key sits on the line after ``backend:``)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                return value, key.start_mark.line
        return None
    if isinstance(node, yaml.SequenceNode) and step.isdigit() and int(step) < len(node.value):
        item: yaml.Node = node.value[int(step)]
        return item, item.start_mark.line
    return None


@lru_cache(maxsize=64)
def _document_node(path: str, document_line: int) -> yaml.Node | None:
    try:
        with open(path, "rb") as stream:
            text = decode(stream.read())
        chunk = document_chunk(text, document_line)
        return None if chunk is None else yaml.compose(chunk, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
