"""Listener isolation: a request reaches the routes of one listener only.

The Gateway API hands a request to the listener of its port whose hostname matches it most
specifically (a precise name, then the longest wildcard, then a listener without hostname),
and only the routes attached to that listener may answer it; with none of them matching, the
answer is a 404. nginx chooses a server the same way, by ``server_name`` among the servers
of the port the request came in on, so isolation comes down to two things done here:

- a route attached to listener L serves host H (within L's hostname) only when no other
  listener of the port has a hostname holding H that is narrower than L's: every request
  for H belongs to that listener then (`Isolation.reaches`);
- a listener hostname under a broader Gateway API host of its port gets a server of its own
  (answering 404 when no route of that listener serves it), so that nginx does not hand its
  requests to the broader host's routes (`Isolation.guarded`).

Gateways sharing a port share nginx's servers there, so the listeners of every served
Gateway on a port count together. The port is the listener's (80, 443, or its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.normalize.gateway.hostnames import ANY_HOST, matches
from ingress2nginx.normalize.gateway.selection import Listener


def within(host: str, hostname: str) -> bool:
    """Whether every request for `host` (precise, wildcard, or any host) also matches
    `hostname` (a listener's: empty for none)."""
    if hostname == ANY_HOST:
        return True
    return host != ANY_HOST and matches(hostname, host)


@dataclass(slots=True)
class Isolation:
    """The listeners of each port, by hostname (the first one of each hostname)."""

    listeners: dict[int, dict[str, Listener]] = field(default_factory=dict)

    @classmethod
    def of(cls, listeners: Iterable[Listener]) -> Isolation:
        found = cls()
        for listener in listeners:
            named = found.listeners.setdefault(listener.port, {})
            named.setdefault(listener.hostname or ANY_HOST, listener)
        return found

    def reaches(self, listener: Listener, host: str) -> bool:
        """Whether requests for `host` on the listener's port belong to `listener` (host
        being within its hostname): no narrower listener hostname of the port holds it."""
        own = listener.hostname or ANY_HOST
        return not any(
            other != own and within(other, own) and within(host, other)
            for other in self.listeners.get(listener.port, {})
        )

    def narrowest(self, port: int, host: str) -> str | None:
        """The hostname of the listener of `port` whose requests those for `host` are
        (ANY_HOST: the listener without hostname); None when no listener holds it. The
        hostnames holding a host lie one within the other: the narrowest is within all."""
        holding = [name for name in self.listeners.get(port, {}) if within(host, name)]
        return next(
            (name for name in holding if all(within(name, other) for other in holding)), None
        )

    def guarded(self, port: int, hosts: Iterable[str]) -> list[Listener]:
        """The listeners of `port` whose hostname needs a server of its own, given the hosts
        served there (`hosts`): those lying under a broader one of them, by hostname."""
        served = set(hosts)
        named = self.listeners.get(port, {})
        return [
            named[hostname]
            for hostname in sorted(named)
            if hostname != ANY_HOST
            and hostname not in served
            and any(host != hostname and within(hostname, host) for host in served)
        ]


def shared(listeners: Iterable[Listener]) -> list[Problem]:
    """A note for each listener on the port and hostname of one of an older Gateway: Gateways
    have no addresses of their own here, so nginx serves both as one listener (their routes
    answer together, the older route first where they overlap). Telling them apart would need
    an address per Gateway. A note, not a warning, and no Conflicted status: both listeners
    are served (the Gateway API's Conflicted means a port left unconfigured), and most such
    Gateways carry routes for different hosts, which answer as they should."""
    first: dict[tuple[int, str], Listener] = {}
    found = []
    for listener in listeners:
        key = (listener.port, listener.hostname or ANY_HOST)
        other = first.setdefault(key, listener)
        if other.gateway.key == listener.gateway.key:
            continue
        hostname = f"hostname {listener.hostname}" if listener.hostname else "no hostname"
        reason = (
            f"port {listener.port} and {hostname} are also those of listener {other.name} of"
            f" Gateway {other.gateway.namespace}/{other.gateway.name}: Gateways share nginx's"
            " addresses, so both are one listener, their routes answering together (the older"
            " route where they overlap)"
        )
        found.append(Problem(Severity.INFO, listener.gateway.ref, listener.field, reason,
                             Code.CONFLICT))  # fmt: skip
    return found
