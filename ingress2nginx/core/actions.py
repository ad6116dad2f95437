"""What a location does (its action: proxy, redirect, answer, split) and where it came from.

These records sit below the features and the model: a feature's hooks tell a proxied location
from a split by these types (features/), and the model's `Location` holds one (model.py), so
both import them from here without importing each other. The canary's rules (`CanaryOptions`)
are here because a `Split` carries them. model.py re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CanaryOptions:
    """The canary rules of one Ingress."""

    enabled: bool = False
    header: str | None = None
    header_value: str | None = None
    header_pattern: str | None = None
    cookie: str | None = None
    weight: int = 0
    weight_total: int = 100


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a piece of configuration came from: an Ingress and a field inside it."""

    namespace: str
    name: str
    field: str
    """Field path, e.g. ``spec.rules[0].http.paths[1]`` or ``spec.defaultBackend``."""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} {self.field}"


@dataclass(frozen=True, slots=True)
class ProxyToUpstream:
    """Proxy to an ``upstream`` block of ready endpoints."""

    upstream: str
    """Name of the `Upstream`."""
    service: str
    """``namespace/name:port`` of the Service, for people reading the output."""
    affinity_cookie: str | None = None
    """The session-affinity cookie this location hands out: its Ingress asked for cookie
    affinity and the upstream hashes on that cookie (annotations/affinity.py)."""


@dataclass(frozen=True, slots=True)
class ProxyToAddress:
    """Proxy to ``host:port``, resolved by nginx at request time (DNS fallback, ExternalName)."""

    address: str
    """``name.namespace.svc.cluster.local:80`` or an ExternalName's ``host:port``."""
    service: str


@dataclass(frozen=True, slots=True)
class Redirect:
    """Answer with a redirect (permanent-redirect, temporal-redirect, from-to-www-redirect)."""

    status: int
    target: str
    """The URL; for from-to-www, the host the request is sent to (scheme and URI kept)."""
    keep_uri: bool = False
    """Append the request URI and keep the scheme (``$scheme://target$request_uri``)."""


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer with a status from nginx itself: 404 when nothing matches, 503 when no endpoint."""

    status: int
    reason: str
    """Why, in a few plain words (it is written as a comment)."""


@dataclass(frozen=True, slots=True)
class Split:
    """Send each request to the main or the canary backend, by the canary's rules."""

    main: ProxyToUpstream | ProxyToAddress
    canary: ProxyToUpstream | ProxyToAddress
    rules: CanaryOptions
    name: str
    """Variable name prefix of the choice (``canary_<digest>``), unique per host and path."""
    origin: Origin
    """The canary Ingress path."""

    @property
    def service(self) -> str:
        """Both Services, for people reading the output."""
        return f"{self.main.service} (canary {self.canary.service})"


Action = ProxyToUpstream | ProxyToAddress | Respond | Redirect | Split


@dataclass(frozen=True, slots=True)
class ResolvedServer:
    """``server HOST service=SERVICE resolve``: nginx looks up the SRV record
    ``SERVICE.HOST`` and re-resolves it as its TTL runs out, with no reload."""

    host: str
    """The Service's DNS name (``web.shop.svc.cluster.local``), validated."""
    service: str
    """``_80._tcp`` (dns mode, the sidecar's responder) or ``_http._tcp`` (a named port,
    the cluster DNS)."""
