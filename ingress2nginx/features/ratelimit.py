"""limit-rps, limit-rpm, limit-connections, limit-burst-multiplier, limit-allowlist,
limit-rate, limit-rate-after: per-client limits on an Ingress's paths.

As in ingress-nginx, each Ingress with limits gets its own shared-memory zones (5 MB each,
keyed by the client address), declared once at http level and shared by all of its paths:
``<namespace>_<name>_rps``, ``_rpm`` and ``_conn`` — ``_`` cannot occur in Kubernetes names, so
two Ingresses never share a zone. Requests beyond the rate plus a burst of rate x multiplier
(default 5) are refused at once (``nodelay``) with 503, or the global
``limit-req-status-code`` / ``limit-conn-status-code``. Clients in limit-allowlist are exempt:
a ``geo`` map gives them an empty zone key, which nginx does not count.

limit-rate and limit-rate-after slow down responses (kilobytes per second, after the first
kilobytes), per request — only with proxy-buffering on, as ingress-nginx documents: nginx does
not limit a response it streams from the backend unbuffered.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.core.directives import Directive, block, directive, entry
from ingress2nginx.core.quoting import literal, trusted
from ingress2nginx.features.base import Annotation, Hooks, supported
from ingress2nginx.features.values import cidrs, integer

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Config, Location, Origin

ZONE_SIZE = "5m"
"""Shared memory per zone, as ingress-nginx: about 80,000 client addresses."""
DEFAULT_STATUS = 503
"""nginx's (and ingress-nginx's) status for refused requests and connections."""
CLIENT_KEY = "$binary_remote_addr"
_ZONE_STEM = re.compile(r"[a-z0-9][a-z0-9.-]*_[a-z0-9][a-z0-9.-]*\Z")

_COUNT = integer(0, 1_000_000)
_KILOBYTES = integer(0, 1_000_000_000)


@dataclass(frozen=True, slots=True)
class RateLimitOptions:
    """Limits one Ingress asks for; 0 means no limit."""

    rps: int = 0
    """``limit-rps``: requests per second per client."""
    rpm: int = 0
    """``limit-rpm``: requests per minute per client."""
    connections: int = 0
    """``limit-connections``: concurrent connections per client."""
    burst_multiplier: int = 5
    """``limit-burst-multiplier``: burst = limit x this."""
    allowlist: tuple[str, ...] | None = None
    """``limit-allowlist``: clients never limited."""
    whitelist: tuple[str, ...] | None = None
    """``limit-whitelist``, its older name; limit-allowlist wins when both are set."""
    rate: int = 0
    """``limit-rate``: kilobytes per second sent to a client, per request."""
    rate_after: int = 0
    """``limit-rate-after``: kilobytes sent at full speed before limit-rate applies."""

    @property
    def zoned(self) -> bool:
        """Whether any limit needs a shared-memory zone."""
        return bool(self.rps > 0 or self.rpm > 0 or self.connections > 0)

    @property
    def exempt(self) -> tuple[str, ...]:
        """Client ranges never limited, limit-allowlist winning over limit-whitelist."""
        if self.allowlist is not None:
            return self.allowlist
        return self.whitelist or ()


ANNOTATIONS: tuple[Annotation, ...] = (
    supported("limit-rps", "Requests per second per client address; beyond the burst"
              " (limit x limit-burst-multiplier) 503.", "ratelimit.rps", _COUNT),
    supported("limit-rpm", "Requests per minute per client address; beyond the burst"
              " (limit x limit-burst-multiplier) 503.", "ratelimit.rpm", _COUNT),
    supported("limit-connections", "Concurrent connections per client address; beyond"
              " them 503 (at most 65535, nginx's limit).", "ratelimit.connections",
              integer(0, 65535)),
    supported("limit-burst-multiplier", "Burst size as a multiple of limit-rps/-rpm"
              " (default 5; 0: no burst).", "ratelimit.burst_multiplier", integer(0, 1000)),
    supported("limit-allowlist", "Comma-separated IPs or CIDRs never rate limited.",
              "ratelimit.allowlist", cidrs),
    supported("limit-whitelist", "Older name of limit-allowlist (which wins when both are"
              " set).", "ratelimit.whitelist", cidrs),
    supported("limit-rate", "Kilobytes per second sent to a client, per request (0: no"
              " limit); like ingress-nginx, needs proxy-buffering on.", "ratelimit.rate",
              _KILOBYTES),
    supported("limit-rate-after", "Kilobytes sent at full speed before limit-rate applies.",
              "ratelimit.rate_after", _KILOBYTES),
)  # fmt: skip


def zone_stem(origin: Origin) -> str:
    """``<namespace>_<name>``: a zone name no other Ingress can have (``_`` is not allowed in
    Kubernetes names); a digest should a name ever fall outside that syntax."""
    stem = f"{origin.namespace}_{origin.name}"
    if _ZONE_STEM.match(stem):
        return stem
    return "ingress_" + _digest(origin)


def _digest(origin: Origin) -> str:
    return hashlib.sha256(f"{origin.namespace}/{origin.name}".encode()).hexdigest()[:12]


def _key_variable(origin: Origin, options: RateLimitOptions) -> str:
    """The zone key: the client address, or a variable empty for exempt clients."""
    if not options.exempt:
        return CLIENT_KEY
    return f"$limit_key_{_digest(origin)}"


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """limit_conn, limit_req (rps, then rpm), limit_rate_after, limit_rate."""
    options = location.options.ratelimit
    found = []
    if options.zoned and location.origin is not None:
        stem = zone_stem(location.origin)
        if options.connections > 0:
            found.append(directive("limit_conn", literal(f"{stem}_conn"), options.connections))
        for suffix, limit in (("rps", options.rps), ("rpm", options.rpm)):
            if limit > 0:
                burst = limit * options.burst_multiplier
                arguments = [literal(f"zone={stem}_{suffix}")]
                if burst > 0:  # nginx refuses burst=0: without one, it allows no burst
                    arguments += [trusted(f"burst={burst}"), trusted("nodelay")]
                found.append(directive("limit_req", *arguments))
    if options.rate_after > 0:
        found.append(directive("limit_rate_after", trusted(f"{options.rate_after}k")))
    if options.rate > 0:
        found.append(directive("limit_rate", trusted(f"{options.rate}k")))
    return found


def http_directives(config: Config, settings: Settings) -> list[Directive]:
    """The refusal statuses when not 503, then each limited Ingress's key map and zones."""
    found = []
    if settings.config.limit_req_status_code != DEFAULT_STATUS:
        found.append(directive("limit_req_status", settings.config.limit_req_status_code))
    if settings.config.limit_conn_status_code != DEFAULT_STATUS:
        found.append(directive("limit_conn_status", settings.config.limit_conn_status_code))
    limited: dict[str, tuple[Origin, RateLimitOptions]] = {}
    for server in config.servers:
        for location in server.locations:
            options = location.options.ratelimit
            if options.zoned and location.origin is not None:
                limited.setdefault(zone_stem(location.origin), (location.origin, options))
    for stem in sorted(limited):
        found.extend(_zones(stem, *limited[stem]))
    return found


def _zones(stem: str, origin: Origin, options: RateLimitOptions) -> list[Directive]:
    key = _key_variable(origin, options)
    found = []
    if options.exempt:
        exempt = f"$limit_exempt_{_digest(origin)}"
        found.append(
            block("geo", [trusted("$remote_addr"), trusted(exempt)], [
                entry(trusted("default"), trusted("0")),
                *(entry(literal(cidr), trusted("1")) for cidr in options.exempt),
            ])
        )  # fmt: skip
        found.append(
            block("map", [trusted(exempt), trusted(key)], [
                entry(trusted("0"), trusted(CLIENT_KEY)),
                entry(trusted("1"), trusted('""')),
            ])
        )  # fmt: skip
    if options.connections > 0:
        found.append(
            directive("limit_conn_zone", trusted(key), literal(f"zone={stem}_conn:{ZONE_SIZE}"))
        )
    for suffix, limit, unit in (("rps", options.rps, "s"), ("rpm", options.rpm, "m")):
        if limit > 0:
            zone = literal(f"zone={stem}_{suffix}:{ZONE_SIZE}")
            found.append(directive("limit_req_zone", trusted(key), zone,
                                   trusted(f"rate={limit}r/{unit}")))  # fmt: skip
    return found


HOOKS = Hooks(location=location_directives, http=http_directives)
