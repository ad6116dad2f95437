"""configuration-, server-, auth- and stream-snippet: raw nginx text, off by default.

A snippet is nginx configuration written by whoever may edit the Ingress, inserted verbatim:
that is its whole point, and why it is refused unless the person running ingress2nginx says
``--allow-snippet-annotations`` and names the namespaces trusted with it
(``--snippet-namespace NS``, repeatable). Even then a snippet is checked, as defence in depth
and not as a sandbox (docs/snippets.md): it is refused when it holds a control character other
than tab and line feed (CR, NUL, Unicode line breaks), when its braces or quotes do not balance
or its last statement is unfinished (it could close the block it is in, or swallow the
directive after it), or when it loads code or other configuration (`FORBIDDEN_DIRECTIVES`,
names containing ``lua``, ``perl*``, ``js_*``, any ``engine:`` argument; snippet_checks.py
reads it as nginx does). It is not a sandbox:
a trusted snippet can still read and write files nginx can reach (``root``, ``alias``,
``access_log``), as docs/snippets.md says. A refused snippet is a warning naming the Ingress;
the Ingress is served without it.

Where they go, as in ingress-nginx: a configuration-snippet in every location of the
Ingress, a server-snippet in the server of each of its hosts (the oldest Ingress's wins when
several Ingresses set one for a host), an auth-snippet in the internal location of its
auth-url (external_auth.py; ignored without auth-url), a stream-snippet in the ``stream``
block. The variables ingress-nginx defines for snippets (``$namespace``, ``$service_name``...)
are set where they can be read: snippet_variables.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.directives import INDENT, Directive
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.quoting import comment
from ingress2nginx.features.base import Annotation, Hooks, partly
from ingress2nginx.features.snippet_checks import (
    continued_lines,
    proxy_headers_set,
    snippet_problem,
)

if TYPE_CHECKING:
    from ingress2nginx.core.objects import Manifest
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.features import IngressOptions
    from ingress2nginx.model import Location, Server

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
    auth: str | None = None
    """``auth-snippet``: text inside the internal location of the Ingress's auth-url."""
    variables: bool = False
    """Set by `settle_server_snippets`, not by an annotation: the location is in a server
    with a server-snippet, so it defines the snippet variables (snippet_variables.py)."""
    server_headers: bool = False
    """Set by `settle_server_snippets`: the server's server-snippet sets request headers, so
    the location writes the standard ones itself (views.py) and, as in ingress-nginx, whose
    locations all write them, does not inherit the snippet's."""


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
    partly("auth-snippet", "Raw nginx directives in the internal location of auth-url (ignored"
           " without auth-url).", _SNIPPET_GATE, "snippets.auth", snippet_text),
)  # fmt: skip

_FIELDS = (
    ("configuration", "configuration-snippet"),
    ("server", "server-snippet"),
    ("stream", "stream-snippet"),
    ("auth", "auth-snippet"),
)
_NEEDS_AUTH_URL = "ignored: auth-snippet goes in the auth-url location, and there is no auth-url"


# --------------------------------------------------------------------------- admission


def admit(
    ingress: Manifest, options: IngressOptions, settings: Settings
) -> tuple[IngressOptions, list[Problem]]:
    """Drop the snippets this Ingress may not use, with a warning for each."""
    snippets = options.snippets
    if snippets == SnippetOptions():
        return options, []
    problems: list[Problem] = []
    kept: dict[str, Any] = {}  # attribute -> None
    for attribute, name in _FIELDS:
        text = getattr(snippets, attribute)
        if text is None:
            continue
        reason = _gate_problem(ingress.namespace, settings) or snippet_problem(text)
        if reason is not None:
            reason = f"refused: {reason}; ignored"
        elif attribute == "auth" and options.external_auth.url is None:
            reason = _NEEDS_AUTH_URL
        if reason is None:
            continue
        kept[attribute] = None
        where = f"metadata.annotations[nginx.ingress.kubernetes.io/{name}]"
        problems.append(Problem(Severity.WARNING, ingress.ref, where, reason, Code.SNIPPET_REFUSED))
    if not kept:
        return options, problems
    return replace(options, snippets=replace(snippets, **kept)), problems


def _gate_problem(namespace: str, settings: Settings) -> str | None:
    if not settings.allow_snippet_annotations:
        return f"snippet annotations are disabled (see {_GATE})"
    if namespace not in settings.snippet_namespaces:
        return f"namespace {namespace} is not named by --snippet-namespace"
    return None


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
        """The heading and the snippet, each line indented unless it begins inside a token (a
        quoted string, or after an escaped line feed), where indentation would be content."""
        indent = INDENT * depth
        found = [f"{indent}# {comment(self.heading)}"]
        continued = continued_lines(self.text)
        for number, line in enumerate(self.text.split("\n")):
            found.append(line if number in continued or not line.strip() else indent + line)
        return found


def _verbatim(kind: str, ingress: str, text: str) -> Verbatim:
    return Verbatim("", heading=f"{kind} of {ingress}", text=text)


def location_directives(location: Location, settings: Settings) -> list[Verbatim]:
    """The configuration-snippet of the location's Ingress."""
    text = location.options.snippets.configuration
    if text is None or location.origin is None:
        return []
    origin = location.origin
    return [_verbatim("configuration-snippet", f"{origin.namespace}/{origin.name}", text)]


def headers_set_by_snippet(location: Location) -> frozenset[str]:
    """Request headers (lowercased) the location's configuration-snippet sets itself: the
    location then repeats the standard ones (views.py), which ingress-nginx writes in every
    location, so a snippet adding one header does not drop the others."""
    text = location.options.snippets.configuration
    return proxy_headers_set(text) if text is not None else frozenset()


def auth_snippet(location: Location) -> Verbatim | None:
    """The auth-snippet of the location's Ingress, for its auth-url location."""
    text = location.options.snippets.auth
    if text is None or location.origin is None:
        return None
    origin = location.origin
    return _verbatim("auth-snippet", f"{origin.namespace}/{origin.name}", text)


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
    """One server-snippet per host: the oldest Ingress's; the others are dropped, warned.
    Every location of a server with a server-snippet defines the snippet variables."""
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
        if not owners:
            settled.append(server)
            continue
        for namespace, name in owners[1:]:
            problems.append(_server_snippet_conflict(namespace, name, server.host, owners[0]))
        settled.append(_with_one_server_snippet(server, owners[0], set(owners[1:])))
    return tuple(settled)


def _server_snippet_conflict(
    namespace: str, name: str, host: str, winner: tuple[str, str]
) -> Problem:
    return Problem(
        Severity.WARNING,
        ObjectRef("Ingress", namespace, name),
        "metadata.annotations[nginx.ingress.kubernetes.io/server-snippet]",
        f"host {host} already has the server-snippet of {winner[0]}/{winner[1]}; ignored",
        Code.CONFLICT,
    )


def _with_one_server_snippet(
    server: Server, winner: tuple[str, str], losers: set[tuple[str, str]]
) -> Server:
    """The server without the server-snippets of `losers`, every location of an Ingress
    defining the snippet variables (and writing the standard headers when the winner's
    snippet sets some)."""
    text = next(
        location.options.snippets.server
        for location in server.locations
        if location.origin is not None
        and (location.origin.namespace, location.origin.name) == winner
    )
    sets_headers = bool(proxy_headers_set(text or ""))
    locations = []
    for location in server.locations:
        origin, snippets = location.origin, location.options.snippets
        if origin is None:
            locations.append(location)
            continue
        lost = (origin.namespace, origin.name) in losers
        changed = replace(
            snippets,
            server=None if lost else snippets.server,
            variables=True,
            server_headers=sets_headers,
        )
        options = replace(location.options, snippets=changed)
        locations.append(replace(location, options=options))
    return replace(server, locations=tuple(locations))


HOOKS = Hooks(location=location_directives, server=server_directives, admit=admit)
