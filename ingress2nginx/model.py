"""The normalized model: what nginx must do, decided, sorted and checked.

Normalizing turns Kubernetes objects into these records; rendering lays them out as text.
Every Kubernetes rule (path types, host precedence, conflicts, default backends) is settled
before a record is built, so a template never decides anything. Records are frozen and hold
tuples: equal inputs give equal models, and an unchanged `Server` can reuse its rendered text.

`Server` and `Upstream` remember their hash once computed (rendering looks them up by value,
and a frozen dataclass would otherwise hash every location and its options again on each
lookup), as do the `IngressOptions` every location carries (hashing.py); equality is the
dataclass's own, field by field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ingress2nginx.core.actions import Action as Action
from ingress2nginx.core.actions import CanaryOptions as CanaryOptions
from ingress2nginx.core.actions import Choice as Choice
from ingress2nginx.core.actions import Choose as Choose
from ingress2nginx.core.actions import Condition as Condition
from ingress2nginx.core.actions import Origin as Origin
from ingress2nginx.core.actions import ProxyToAddress as ProxyToAddress
from ingress2nginx.core.actions import ProxyToUpstream as ProxyToUpstream
from ingress2nginx.core.actions import Redirect as Redirect
from ingress2nginx.core.actions import ResolvedServer as ResolvedServer
from ingress2nginx.core.actions import Respond as Respond
from ingress2nginx.core.actions import Split as Split
from ingress2nginx.core.hashing import compared_fields, remembered_hash
from ingress2nginx.core.secret_files import SecretFile
from ingress2nginx.features import DEFAULT_OPTIONS, IngressOptions
from ingress2nginx.features.balancing import DEFAULT_BALANCING, Balancing


class PathType(enum.StrEnum):
    """spec.rules[].http.paths[].pathType."""

    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


class Match(enum.StrEnum):
    """How an nginx ``location`` compares the request path; the value is its modifier."""

    EXACT = "="
    """``location = /p``: the whole path equals /p."""
    PREFIX = ""
    """``location /p/``: a plain string prefix; always ends in / so it is element-wise."""
    REGEX = "~*"
    """``location ~* re``: a case-insensitive regular expression (use-regex paths)."""
    REGEX_CASE_SENSITIVE = "~"
    """``location ~ re``: an Exact or Prefix path written as a regex on a use-regex host."""
    NAMED = "@"
    """``location @name``: reached only by a `Choose` of its server (the path is the name)."""


@dataclass(frozen=True, slots=True)
class ErrorPages:
    """Statuses whose pages another backend renders (custom-http-errors)."""

    codes: tuple[int, ...]
    target: ProxyToUpstream | ProxyToAddress
    """The default-backend annotation's Service, or the global default backend."""
    service_name: str
    """The rule's own Service and port, told to the error backend."""
    service_port: str


@dataclass(frozen=True, slots=True)
class StandIn:
    """The default-backend annotation's Service answering for a rule's Service that has no
    ready endpoint; it is told so with the headers error backends get (custom_errors.py)."""

    service_name: str
    """The rule's own Service and port, as written."""
    service_port: str
    code: int = 503
    """The status nginx would have answered without it (X-Code)."""


@dataclass(frozen=True, slots=True)
class HeaderChange:
    """A Gateway API header modifier entry: set, add or remove one header."""

    how: str
    """``set``, ``add`` or ``remove``."""
    name: str
    """Checked: letters, digits and ``-``."""
    value: str = ""
    """Checked: no ``$`` and no control character."""


@dataclass(frozen=True, slots=True)
class PathChange:
    """A Gateway API path modifier: the whole path, or the matched prefix, replaced."""

    full: bool
    """ReplaceFullPath; else ReplacePrefixMatch."""
    value: str
    prefix: str = "/"
    """The PathPrefix the request matched (ReplacePrefixMatch), as nginx compares it."""


@dataclass(frozen=True, slots=True)
class RedirectTo:
    """A Gateway API RequestRedirect: the parts of the URL it changes (None keeps them)."""

    scheme: str | None
    hostname: str | None
    port: int | None
    """Written only when it is not the scheme's own (80, 443)."""
    path: PathChange | None


@dataclass(frozen=True, slots=True)
class Mirror:
    """A Gateway API RequestMirror: a copy of each request sent to another backend."""

    location: str
    """The internal location the copies go through (``/%gwmirror-<digest>``)."""
    target: ProxyToUpstream | ProxyToAddress
    share: int = 10000
    """The requests copied, in hundredths of a percent (``percent``, ``fraction``): 10000
    copies every one; the internal location drops the others."""
    scheme: str = "http"
    """How copies reach the backend: ``http`` (``proxy_pass``), ``grpc`` or ``grpcs``
    (``grpc_pass``, a GRPCRoute's mirror)."""


@dataclass(frozen=True, slots=True)
class RouteFilters:
    """What a Gateway API rule's filters do with the requests of one match."""

    name: str
    """Prefix of the variables the filters need (``gw_<digest>``), made by this program."""
    request_headers: tuple[HeaderChange, ...] = ()
    response_headers: tuple[HeaderChange, ...] = ()
    host: str | None = None
    """URLRewrite hostname: the Host header the backend gets."""
    path: PathChange | None = None
    """URLRewrite path."""
    redirect: RedirectTo | None = None
    timeout: str | None = None
    """``timeouts.backendRequest`` (else ``timeouts.request``) as an nginx time."""
    mirrors: tuple[Mirror, ...] = ()


@dataclass(frozen=True, slots=True)
class Location:
    """One nginx ``location`` block."""

    match: Match
    path: str
    """The path exactly as nginx compares it (percent-decoded; a Prefix path ends in /)."""
    action: Action
    origin: Origin | None
    """The Ingress path it implements; None for the fallback that routes unmatched requests."""
    https_redirect: bool = False
    """Answer plain HTTP with a 308 to the same URL over HTTPS (ssl-redirect)."""
    options: IngressOptions = DEFAULT_OPTIONS
    """What the annotations of the Ingress it comes from ask for."""
    ingress_path: str = ""
    """The path as the Ingress wrote it (orders regex locations, longest first)."""
    error_pages: ErrorPages | None = None
    """custom-http-errors: statuses rendered by an error backend."""
    stand_in: StandIn | None = None
    """Set when `action` is the default-backend annotation's Service standing in."""
    service: tuple[str, str] = ("", "")
    """The rule's Service name and port (number or name) as the Ingress wrote them."""
    filters: RouteFilters | None = None
    """A Gateway API rule's filters (normalize/gateway/filter_directives.py lays them out)."""

    @property
    def proxies(self) -> bool:
        """Whether requests here go to a backend (rather than nginx answering them): only
        such locations carry the annotations' request handling (auth, error pages...)."""
        return isinstance(self.action, ProxyToUpstream | ProxyToAddress | Split)

    @property
    def is_regex(self) -> bool:
        """Whether nginx matches this location as a regular expression."""
        return self.match in (Match.REGEX, Match.REGEX_CASE_SENSITIVE)

    @property
    def sort_key(self) -> tuple[int, int, str, tuple[int, ...]]:
        """Output order. Plain locations by path, the exact form first (nginx does not care
        about their order); then regex locations, which nginx tries in order: longest
        Ingress path first, then by path in descending order, as ingress-nginx sorts them."""
        if self.match is Match.NAMED:
            return (2, 0, self.path, ())
        if self.is_regex:
            return (1, -len(self.ingress_path), "", tuple(-ord(c) for c in self.ingress_path))
        return (0, 0, self.path, (_MATCH_ORDER[self.match],))


_MATCH_ORDER = {Match.EXACT: 0, Match.PREFIX: 1}


@dataclass(frozen=True, slots=True)
class Server:
    """One virtual host: an nginx ``server`` block."""

    host: str
    """The Ingress host (``foo.com``, ``*.foo.com``); empty for the catch-all server."""
    server_names: tuple[str, ...]
    """``server_name`` arguments: the host, a one-label regex for a wildcard, or ``_``."""
    default: bool
    """The catch-all server, answering every Host no other server claims."""
    locations: tuple[Location, ...]
    """Sorted by `Location.sort_key`; always includes one for ``/``."""
    tls: ServerTLS | None = None
    """The host's own certificate from ``spec.tls``; None serves the default certificate."""
    app_root: str | None = None
    """Redirect requests for ``/`` here (app-root)."""
    ingress_options: tuple[IngressOptions, ...] = ()
    """What the Ingresses with rules for this host ask for, oldest first (equal ones once):
    a host-wide annotation (ssl-ciphers) takes the value of the oldest that sets it."""
    port: int | None = None
    """A Gateway API listener's own port (not 80 or 443): the server listens there alone, as
    given; None for --http-port and --https-port."""
    listens_http: bool = True
    """Answers plain HTTP: on --http-port (`port` None) or on `port`. An Ingress host's
    server answers both; a Gateway API host's only those of the listeners its routes
    attach to (listener isolation)."""
    listens_https: bool = True
    """Answers HTTPS: on --https-port when the config listens there (`port` None), or on
    `port` (then `listens_http` is False: a port has one protocol)."""
    sni_slot: str | None = None
    """Gateway API: the listener of its HTTPS port whose SNI names this server's requests
    must come with (`Config.sni_ports`; others get 421, normalize/gateway/misdirected.py);
    None for no such check (Ingress servers, plain HTTP)."""
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)
    """The hash, once computed (see the module docstring)."""

    def __hash__(self) -> int:
        return remembered_hash(self, _SERVER_FIELDS)


_SERVER_FIELDS = compared_fields(Server)


@dataclass(frozen=True, slots=True)
class ServerTLS:
    """A host's certificate, from a ``spec.tls`` entry."""

    certificate: str
    """File stem of the `CertificateFile` (or of the generated default certificate)."""
    origin: Origin
    """The ``spec.tls`` entry that asked for it."""


@dataclass(frozen=True, slots=True)
class CertificateFile:
    """A certificate chain and key to write under --cert-dir, re-serialized from a Secret."""

    name: str
    """File stem: ``tls-<namespace>_<name>`` (``.crt`` and ``.key`` are added)."""
    secret: str
    """``namespace/name`` of the Secret."""
    chain_pem: bytes
    key_pem: bytes


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A ready backend address."""

    address: str
    """An IPv4 or IPv6 address, already validated."""
    port: int

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Upstream:
    """An nginx ``upstream`` block: one Service port's ready endpoints."""

    name: str
    """``namespace_service_port`` (``..._clusterip`` for service-upstream); ``_`` cannot occur
    in namespaces or Service names, so names of different Service ports never collide."""
    service: str
    endpoints: tuple[Endpoint, ...]
    """Sorted, never empty (a Service port without ready endpoints becomes a 503); the
    ClusterIP alone for service-upstream; empty when nginx resolves them (`resolve`)."""
    balancing: Balancing = DEFAULT_BALANCING
    """How nginx picks an endpoint: asked for by the oldest Ingress using the upstream that
    asks (load-balance, upstream-hash-by, affinity), else the global load-balance."""
    resolve: ResolvedServer | None = None
    """Endpoints nginx resolves at run time from SRV records (dns_upstreams.py), else None."""
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)
    """The hash, once computed (see the module docstring)."""

    def __hash__(self) -> int:
        return remembered_hash(self, _UPSTREAM_FIELDS)


_UPSTREAM_FIELDS = compared_fields(Upstream)


@dataclass(frozen=True, slots=True)
class Route:
    """One served Ingress path, as ``explain`` shows it."""

    host: str
    path: str
    path_type: PathType
    backend: str
    """The Service (``namespace/name:port``) or the fixed answer (``404``)."""
    origin: Origin
    port: int | None = None
    """A Gateway API listener's own port (`Server.port`); None for the usual ports."""


@dataclass(frozen=True, slots=True)
class Passthrough:
    """A host whose TLS connections go to its backend untouched (ssl-passthrough)."""

    host: str
    server_names: tuple[str, ...]
    """What the SNI name is compared with: the host, or a one-label regex for a wildcard."""
    target: ProxyToUpstream | ProxyToAddress
    """The backend of the host's ``/`` path (its endpoints, or its DNS name)."""
    origin: Origin
    """The Ingress rule asking for it."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the nginx.conf template needs, in output order."""

    servers: tuple[Server, ...]
    """The catch-all server first, then by host."""
    upstreams: tuple[Upstream, ...]
    """By name."""
    routes: tuple[Route, ...]
    """Every served path, by host then path."""
    resolves_at_request_time: bool
    """Some location proxies to a DNS name, so nginx needs a ``resolver``."""
    certificates: tuple[CertificateFile, ...] = ()
    """Certificates the servers use, by name (the default certificate is not among them)."""
    https: bool = False
    """Whether nginx listens on --https-port (some Ingress host has TLS or forces a redirect, a
    Gateway API listener on 443, ssl-passthrough); `serves_tls` also counts listeners' own
    HTTPS ports."""
    h2c: bool = False
    """Some server answers gRPC over plain HTTP (a GRPCRoute on an HTTP listener): HTTP/2
    with prior knowledge beside HTTP/1.1, which ``http2 on;`` (nginx 1.25.1) gives."""
    passthrough: tuple[Passthrough, ...] = ()
    """ssl-passthrough hosts, by host; never any without ``--enable-ssl-passthrough``."""
    stream_snippets: tuple[tuple[str, str], ...] = ()
    """(``namespace/name``, text) of each admitted stream-snippet, oldest Ingress first."""
    secret_files: tuple[SecretFile, ...] = ()
    """Files from Secrets named by annotations (htpasswd, CA bundles, client certificates),
    to write under --cert-dir; by name."""
    sni_ports: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """(port as clients see it, listener hostnames sorted, "" for none) of each port with
    Gateway API HTTPS listeners: how an SNI name is told to belong to a listener."""
    worker_group: int | None = None
    """Group id given the files nginx's workers read at each request (`Settings.worker_group`),
    so that writing them needs no settings."""

    @property
    def listener_ports(self) -> tuple[tuple[int, bool], ...]:
        """(port, TLS) of each Gateway API listener port of its own nginx listens on, by
        port (`Server.port`)."""
        found = {(s.port, s.listens_https) for s in self.servers if s.port is not None}
        return tuple(sorted(found))

    @property
    def serves_tls(self) -> bool:
        """Whether nginx terminates TLS anywhere: --https-port (`https`) or a listener's own
        HTTPS port (the TLS settings and the default certificate are needed then)."""
        return self.https or any(tls for _, tls in self.listener_ports)
