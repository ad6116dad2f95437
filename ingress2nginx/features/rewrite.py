"""rewrite-target, use-regex, app-root, x-forwarded-prefix: where a request goes on the backend.

As in ingress-nginx: with ``use-regex: "true"`` or a ``rewrite-target``, the Ingress's
ImplementationSpecific paths are case-insensitive regular expressions anchored at the start
(``location ~* "^/api/v[0-9]+"``), and every other path of the same host becomes a regex too,
ordered longest first, because nginx tries regex locations in order (routing.py does this).
``rewrite-target`` rewrites the path before proxying, with capture groups ``$1``…``$9`` of the
path regex; ``x-forwarded-prefix`` then tells the backend the prefix it was mounted under.
``app-root`` redirects requests for ``/`` to the application's root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.quoting import Token, compose, expanded, literal, trusted, with_captures
from ingress2nginx.features.base import Annotation, Hooks, supported
from ingress2nginx.features.values import parse_bool, rewrite_target, uri_path

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location, Server


@dataclass(frozen=True, slots=True)
class RewriteOptions:
    """Path rewriting asked for by one Ingress."""

    target: str | None = None
    """``rewrite-target``: the path the backend sees; may use ``$1``…``$9``."""
    use_regex: bool = False
    """``use-regex``: ImplementationSpecific paths are regular expressions."""
    app_root: str | None = None
    """``app-root``: where requests for ``/`` are redirected (302)."""
    x_forwarded_prefix: str | None = None
    """``x-forwarded-prefix``: value of the X-Forwarded-Prefix header (with a rewrite-target)."""
    rewrite_log: bool = False
    """``enable-rewrite-log``: log rewrites at notice level in the error log."""

    @property
    def regex(self) -> bool:
        """Whether this Ingress's ImplementationSpecific paths are regular expressions."""
        return self.use_regex or self.target is not None


ANNOTATIONS: tuple[Annotation, ...] = (
    supported(
        "rewrite-target",
        "Rewrite the path before proxying (rewrite ... break), with capture groups $1..$9 of"
        " the path regex; makes the Ingress's ImplementationSpecific paths regexes.",
        "rewrite.target",
        rewrite_target,
    ),
    supported(
        "use-regex",
        "Treat ImplementationSpecific paths as case-insensitive regexes; every path of the"
        " host becomes a regex location, longest first.",
        "rewrite.use_regex",
        parse_bool,
    ),
    supported(
        "app-root",
        "Redirect requests for / to this path (302).",
        "rewrite.app_root",
        uri_path,
    ),
    supported(
        "x-forwarded-prefix",
        "Send X-Forwarded-Prefix with this value to the backend when the path is rewritten.",
        "rewrite.x_forwarded_prefix",
        uri_path,
    ),
    supported(
        "enable-rewrite-log",
        "Log rewrites in the error log (rewrite_log on).",
        "rewrite.rewrite_log",
        parse_bool,
    ),
)


def rewrite_pattern(location_path: str, is_regex: bool) -> str:
    """The regex a rewrite matches: the location's own regex, or its literal path escaped."""
    return location_path if is_regex else "^" + re.escape(location_path)


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``rewrite`` (and ``rewrite_log``) for one location of an Ingress with a target."""
    options = location.options.rewrite
    found = []
    if options.rewrite_log:
        found.append(directive("rewrite_log", trusted("on")))
    if options.target is not None:
        pattern = literal("(?i)" + rewrite_pattern(location.path, location.is_regex))
        found.append(directive("rewrite", pattern, with_captures(options.target), trusted("break")))
    return found


def proxy_headers(location: Location) -> dict[str, Token]:
    """Headers to the backend: X-Forwarded-Prefix, only with a rewrite (as ingress-nginx)."""
    options = location.options.rewrite
    if options.target is not None and options.x_forwarded_prefix is not None:
        return {"X-Forwarded-Prefix": expanded(options.x_forwarded_prefix)}
    return {}


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """app-root's redirect of ``/``, at server level."""
    return [app_root_directive(server.app_root)] if server.app_root else []


HOOKS = Hooks(location=location_directives, headers=proxy_headers, server=server_directives)


def app_root_directive(app_root: str) -> Directive:
    """``if ($uri = /) { return 302 $scheme://$http_host<app-root>; }`` at server level."""
    target = compose(trusted("$scheme://$http_host"), app_root)
    return block(
        "if",
        [trusted("($uri"), trusted("="), trusted("/)")],
        [
            directive("return", 302, target),
        ],
    )
