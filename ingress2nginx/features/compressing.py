"""use-gzip and its gzip-* keys: response compression in the http block, as ingress-nginx does.

ingress-nginx leaves compression off unless its ConfigMap says ``use-gzip: "true"``; then it
compresses, in every server, responses of ``gzip-types`` (text/html always) from
``gzip-min-length`` bytes at ``gzip-level``, whatever the backend sent (``gzip_proxied any``),
telling caches the answer depends on Accept-Encoding (``gzip_vary on``). The same lines here.
"""

from __future__ import annotations

import re

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import literal, trusted
from ingress2nginx.core.settings import GlobalConfig
from ingress2nginx.features.base import AnnotationValueError

_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#&^_.+-]{0,126}/(?:\*|[a-z0-9][a-z0-9!#&^_.+-]{0,126})\Z")
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
    ]
