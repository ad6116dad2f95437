"""Records that remember their hash (model.Server, model.Upstream, IngressOptions).

These frozen records are hashed again and again (every location carries its Ingress's
options; servers and upstreams are looked up by value when rendering), so each keeps its hash
in a ``_hash`` slot that equality ignores. The hash covers exactly the fields equality
compares, so equal records always hash alike.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import fields
from typing import Any


def compared_fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of the fields equality compares, as a tuple: what a
    remembered hash covers, so that equal records always hash alike."""
    return operator.attrgetter(*(item.name for item in fields(cls) if item.compare))


def remembered_hash(record: Any, values: Callable[[Any], tuple[Any, ...]]) -> int:
    """`record`'s hash over `values(record)`, computed once and kept in its ``_hash`` slot."""
    cached: int | None = record._hash
    if cached is None:
        cached = hash(values(record))
        object.__setattr__(record, "_hash", cached)
    return cached
