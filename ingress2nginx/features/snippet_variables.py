"""The variables ingress-nginx defines in every location, for snippets to use.

ingress-nginx starts each location with ``set $namespace``, ``$ingress_name``,
``$service_name``, ``$service_port`` and ``$location_path`` (the Ingress path as written), and
trusted snippets rely on them — Linkerd documents
``proxy_set_header l5d-dst-override $service_name.$namespace.svc.cluster.local:$service_port;``.
nginx refuses a whole config that names a variable nothing defines, so these must exist
wherever a snippet can use them.

Writing five ``set`` lines in every location would double the output at scale (ingress2nginx
keeps to about 200 bytes a location), so they are written only where a snippet can read them:
in every location of an Ingress with an admitted configuration-, server- or auth-snippet
(the auth subrequest shares its parent's variables), and in every location of a server that
has a server-snippet (its ``add_header`` or ``log`` lines are evaluated per location). A
server-snippet whose own Ingress has no proxying location gets them declared empty at server
level, so nginx still accepts a snippet naming them. Elsewhere nothing is written.

Values are ingress-nginx's: the port as the Ingress names it (a number or a port name), the
path as written (``/`` when empty); a ``$`` in a regex path is written as
``${literal_dollar}``, a variable holding ``$`` (``geo``, which does not expand variables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import Token, expanded, interpolated, literal, trusted, variable
from ingress2nginx.features.base import Hooks

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, Location, Server

NAMES = ("namespace", "ingress_name", "service_name", "service_port", "location_path")
"""The variables, in ingress-nginx's order."""
LITERAL_DOLLAR = "literal_dollar"


def wanted(location: Location) -> bool:
    """Whether `location` defines the variables: a proxying location of an Ingress with a
    snippet, or of a server with a server-snippet (`SnippetOptions.variables`)."""
    snippets = location.options.snippets
    return (
        location.origin is not None
        and location.proxies
        and (
            snippets.variables
            or snippets.configuration is not None
            or snippets.server is not None
            or snippets.auth is not None
        )
    )


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``set`` each variable to this location's value, when a snippet can read it."""
    if not wanted(location) or location.origin is None:
        return []
    service, port = location.service
    values = (
        literal(location.origin.namespace),
        literal(location.origin.name),
        expanded(service) if service else trusted('""'),
        expanded(port) if port else trusted('""'),
        path_value(location.ingress_path or "/"),
    )
    return [
        directive("set", trusted(f"${name}"), value)
        for name, value in zip(NAMES, values, strict=True)
    ]


def path_value(path: str) -> Token:
    """The path as a ``set`` value: each ``$`` as ``${literal_dollar}``."""
    if "$" not in path:
        return expanded(path)
    pieces: list[str] = []
    for index, text in enumerate(path.split("$")):
        if index:
            pieces.append(variable(LITERAL_DOLLAR))
        if text:
            pieces.append(text)
    return interpolated(*pieces)


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """The variables declared empty in a server whose server-snippet no location sets them
    for (its Ingress only redirects, say): nginx refuses a config naming an unknown one."""
    has_snippet = any(location.options.snippets.server for location in server.locations)
    if not has_snippet or any(wanted(location) for location in server.locations):
        return []
    return [directive("set", trusted(f"${name}"), trusted('""')) for name in NAMES]


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """``$literal_dollar``, when some location's path holds a ``$``."""
    needed = any(
        "$" in location.ingress_path and wanted(location)
        for server in config.servers
        for location in server.locations
    )
    if not needed:
        return []
    body = [entry(trusted("default"), trusted('"$"'))]
    return [block("geo", [trusted(f"${LITERAL_DOLLAR}")], body)]


HOOKS = Hooks(location=location_directives, server=server_directives, http=http_directives)
