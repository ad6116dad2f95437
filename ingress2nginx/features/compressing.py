"""use-gzip and its gzip-* keys: response compression in the http block, as ingress-nginx does.

ingress-nginx leaves compression off unless its ConfigMap says ``use-gzip: "true"``; then it
compresses, in every server, responses of ``gzip-types`` (text/html always) from
``gzip-min-length`` bytes at ``gzip-level``, whatever the backend sent (``gzip_proxied any``),
telling caches the answer depends on Accept-Encoding (``gzip_vary on``), and never for the
User-Agents ``gzip-disable`` matches. The same lines here.
"""

from __future__ import annotations

import re

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import literal, trusted
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features.base import AnnotationValueError, compiles

_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#&^_.+-]{0,126}/(?:\*|[a-z0-9][a-z0-9!#&^_.+-]{0,126})\Z")
_NAMED_GROUP = re.compile(r"\(\?P?<(?![=!])")
"""Named captures: nginx makes each a variable of the request."""
PATTERN_MAX_LENGTH = 256
ALWAYS = "text/html"
"""nginx compresses it whenever gzip is on (listing it again makes nginx warn)."""


def mime_types(value: str) -> tuple[str, ...]:
    """``gzip-types``: MIME types separated by spaces (or commas), or ``*``."""
    found = tuple(word.lower() for word in re.split(r"[\s,]+", value.strip()) if word)
    if found == ("*",):
        return found
    if not found or not all(_MIME_TYPE.match(word) for word in found):
        raise AnnotationValueError("must be MIME types like text/css, separated by spaces, or *")
    return found


def user_agent_pattern(value: str) -> str:
    """``gzip-disable``: one regular expression, as ingress-nginx writes it into
    ``gzip_disable "..."`` (nginx matches it case-insensitively), or ``msie6``; empty: none."""
    value = value.strip()
    if len(value) > PATTERN_MAX_LENGTH or not value.isascii() or not value.isprintable():
        raise AnnotationValueError(
            f"must be a regular expression of printable ASCII, at most {PATTERN_MAX_LENGTH}"
        )
    if _NAMED_GROUP.search(value):
        raise AnnotationValueError("must not use named groups (nginx makes them variables)")
    return compiles(value)


def http_directives(config: GlobalConfig) -> list[Directive]:
    """The gzip lines of the http block; none unless use-gzip is on."""
    if not config.use_gzip:
        return []
    types = [literal(kind) for kind in dict.fromkeys(config.gzip_types) if kind != ALWAYS]
    return [
        directive("gzip", trusted("on")),
        directive("gzip_comp_level", config.gzip_level),
        directive("gzip_http_version", trusted("1.1")),
        directive("gzip_min_length", config.gzip_min_length),
        *([directive("gzip_types", *types)] if types else []),
        directive("gzip_proxied", trusted("any")),
        directive("gzip_vary", trusted("on")),
        *([directive("gzip_disable", literal(config.gzip_disable))] if config.gzip_disable else []),
    ]
