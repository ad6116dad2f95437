"""What a location does (its action: proxy, redirect, answer, split, choose) and where it came
from.

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
    kind: str = "Ingress"
    """The object's kind; named in text when it is not an Ingress (``HTTPRoute``)."""

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, namespace, name) of the object."""
        return (self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        shown = "" if self.kind == "Ingress" else f"{self.kind} "
        return f"{shown}{self.namespace}/{self.name} {self.field}"


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
    variable: bool = False
    """`target` names the nginx variable holding the URL, made by this program (a Gateway
    API RequestRedirect: normalize/gateway/filter_directives.py)."""


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


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on the request, true when `source` matches `pattern` (a Gateway API header,
    query parameter or method match)."""

    source: str
    """The nginx variable tested (``http_x_version``, ``args``, ``request_method``): a name
    this program builds from a checked header or parameter name."""
    pattern: str
    """A PCRE regex, checked or escaped by normalize/gateway/conditions.py."""
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class Choice:
    """One of the named locations a `Choose` can hand a request to."""

    location: str
    """The named location (``@gw_<digest>_0``) of the same server."""
    weight: int
    """Its share among the choices of a weighted `Choose` (Gateway API backendRef weight)."""
    service: str
    """What it does, for people reading the output."""
    conditions: tuple[Condition, ...] = ()
    """For a `Choose` by match: all must hold (none: the choice when no other holds)."""


@dataclass(frozen=True, slots=True)
class Choose:
    """Hand each request to one of the server's named locations: picked by weight with
    ``split_clients`` (Gateway API weighted backendRefs), or by match, the first choice whose
    conditions all hold (header, query and method matches); normalize/gateway/nginx.py lays it
    out."""

    variable: str
    """The nginx variable holding the chosen location (``gw_<digest>``), made by this program."""
    choices: tuple[Choice, ...]
    by_match: bool = False
    """Choices in precedence order, by their conditions; else by weight."""

    @property
    def service(self) -> str:
        """Every choice with its weight or conditions, for people reading the output."""
        if self.by_match:
            return "; ".join(
                f"{choice.service} if {len(choice.conditions)} condition(s) hold"
                if choice.conditions
                else f"else {choice.service}"
                for choice in self.choices
            )
        return ", ".join(f"{choice.service} (weight {choice.weight})" for choice in self.choices)


Action = ProxyToUpstream | ProxyToAddress | Respond | Redirect | Split | Choose


@dataclass(frozen=True, slots=True)
class ResolvedServer:
    """``server HOST service=SERVICE resolve``: nginx looks up the SRV record
    ``SERVICE.HOST`` and re-resolves it as its TTL runs out, with no reload."""

    host: str
    """The Service's DNS name (``web.shop.svc.cluster.local``), validated."""
    service: str
    """``_80._tcp`` (dns mode, the sidecar's responder) or ``_http._tcp`` (a named port,
    the cluster DNS)."""
