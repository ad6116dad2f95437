"""A host's `Server`, built from everything it depends on, and remembered between translations.

routing.py settles what each host has (its claims, its fallback, its certificate, its names);
`ServerInputs` holds all of it, and `ServerInputs.build` lays the server out (locations.py).
A server is a function of its inputs alone. Watch mode's translator keeps a `ServerMemo`: a
host whose inputs equal the last translation's gets the same `Server` object again, so its
locations are not laid out again and the renderer finds its text by identity.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingress2nginx.features import IngressOptions
from ingress2nginx.model import Action, Location, Origin, Server, ServerTLS
from ingress2nginx.normalize.locations import Claim, Redirects, layout


@dataclass(frozen=True, slots=True)
class ServerInputs:
    """Everything one host's server is made of."""

    host: str
    names: tuple[str, ...]
    """``server_name`` arguments, aliases included."""
    default: bool
    """The catch-all server."""
    claims: tuple[Claim, ...]
    """The host's winning claims, in claiming order."""
    fallback: tuple[Action, Origin | None]
    """What answers ``/`` when no claim does."""
    tls: ServerTLS | None
    app_root: str | None
    options: tuple[IngressOptions, ...]
    ssl_redirect: bool
    """The global ssl-redirect option."""
    no_auth: tuple[str, ...] = ()
    """The global no-auth-locations option: path prefixes asking for no authentication."""
    named: tuple[Location, ...] = ()
    """Named locations the host's `Choose` actions hand requests to (normalize/gateway/), in
    order."""
    port: int | None = None
    """A Gateway API listener's own port (`Server.port`)."""

    def build(self) -> Server:
        """The server, its locations laid out."""
        redirects = Redirects(secure=self.tls is not None, ssl_redirect=self.ssl_redirect)
        locations = layout(self.claims, self.fallback, redirects, self.no_auth) + self.named
        return Server(self.host, self.names, self.default, locations, self.tls, self.app_root,
                      self.options, port=self.port)  # fmt: skip


class ServerMemo:
    """The servers of the last translation, by host, with the inputs each was built from.
    Without `keep`, nothing is remembered (a single translation)."""

    __slots__ = ("_kept", "_used", "keep")

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self._kept: dict[str, tuple[ServerInputs, Server]] = {}
        self._used: dict[str, tuple[ServerInputs, Server]] = {}

    def get(self, inputs: ServerInputs) -> Server:
        """The last server of the host when built from equal inputs, else a new one."""
        found = self._kept.get(inputs.host)
        server = found[1] if found is not None and found[0] == inputs else inputs.build()
        if self.keep:
            self._used[inputs.host] = (inputs, server)
        return server

    def forget_unused(self) -> None:
        """Keep only the servers of this translation."""
        self._kept, self._used = self._used, {}
