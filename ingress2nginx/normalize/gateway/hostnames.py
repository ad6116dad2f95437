"""Listener and HTTPRoute hostnames, intersected as the Gateway API defines them.

A Gateway API wildcard differs from an Ingress one: ``*.example.com`` matches any name ending
in ``.example.com`` with one *or more* labels before it (``a.example.com`` and
``a.b.example.com``), never ``example.com`` itself. That is exactly nginx's own
``server_name *.example.com``, which also prefers a precise name to a wildcard and a longer
wildcard to a shorter one, as the Gateway API's hostname precedence asks.

A route attaches to a listener through the hostnames both allow: a listener without a
hostname takes the route's; a route without hostnames takes the listener's; neither means any
host (the catch-all server). A precise name under the other side's wildcard is kept; of two
wildcards the narrower one is kept. A route none of whose hostnames meets the listener's does
not attach to it.
"""

from __future__ import annotations

ANY_HOST = ""
"""The host key of the catch-all server: no hostname on either side."""


def matches(pattern: str, host: str) -> bool:
    """Whether `host` (precise or wildcard) lies within `pattern` (precise or wildcard)."""
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[1:]  # ".example.com"
    return host.endswith(suffix) and len(host) > len(suffix) and host[: -len(suffix)] != "*"


def intersect(listener: str | None, route: list[str]) -> list[str]:
    """The hosts a route with hostnames `route` serves on a listener with `listener`, in
    the route's order, each once; empty when they do not meet."""
    if not route:
        return [listener or ANY_HOST]
    if not listener:
        return list(dict.fromkeys(route))
    found = []
    for hostname in route:
        if matches(listener, hostname):
            found.append(hostname)
        elif matches(hostname, listener):
            found.append(listener)
    return list(dict.fromkeys(found))


def server_names(host: str) -> tuple[str, ...]:
    """``server_name`` arguments for a Gateway API host: nginx's own wildcard is the
    Gateway API's."""
    return (host,) if host else ("_",)
