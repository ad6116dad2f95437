"""auth-tls-*: client certificate authentication, for a whole host as in ingress-nginx.

auth-tls-secret names a Secret with ``ca.crt`` (the CAs that sign accepted client
certificates, and optionally ``ca.crl``), written under --cert-dir and named by
``ssl_client_certificate`` in the host's server with ``ssl_verify_client`` (auth-tls-verify-
client: on, the default, optional, optional_no_ca, off) and ``ssl_verify_depth``. With
``on`` a request without a valid certificate gets 400 from nginx (or goes to
auth-tls-error-page), and a plain-HTTP request is redirected to HTTPS first, so it can never
skip the check. auth-tls-match-cn adds a check of the subject (403 when it does not match).
Every backend of the host learns the result in ``ssl-client-verify``,
``ssl-client-subject-dn`` and ``ssl-client-issuer-dn`` (and ``ssl-client-cert`` with
auth-tls-pass-certificate-to-upstream), replacing whatever the client sent under those names.

The oldest Ingress with rules for the host that sets auth-tls-secret decides (`settle`
stamps its choice on every location of the host; for rules without a host, the catch-all
server, the first by namespace/name). When any of them has a problem — an invalid
value, a Secret missing or without ``ca.crt`` — the whole host answers 503 (ingress-nginx
answers 403 for the whole host then): client certificates guard the host, not one path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from ingress2nginx.core.directives import Directive, block, directive
from ingress2nginx.core.quoting import Token, literal, trusted
from ingress2nginx.core.secret_files import (
    CA_BUNDLE,
    SecretFile,
    ca_bundle,
    file_name,
    revocation_list,
)
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    Invalid,
    OnInvalid,
    partly,
)
from ingress2nginx.features.forwarding import redirect_host_variable
from ingress2nginx.features.secured import DENIED_STATUS, Lookup, SecretRef, field_names, secret_ref
from ingress2nginx.features.values import choice, integer, parse_bool

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location, Server

VERIFY_MODES = ("on", "off", "optional", "optional_no_ca")
_ERROR_PAGE = re.compile(r"(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)?(?:/[A-Za-z0-9._-]+)*/?\Z")
_CN = re.compile(r"CN=[A-Za-z0-9 .,_*+?|()\[\]^$\\=@:/-]{1,256}\Z")


def _error_page(value: str) -> str:
    """An http(s) URL or a path, as ingress-nginx's redirect syntax (no named locations)."""
    text = value.strip()
    if not text or not _ERROR_PAGE.match(text) or not (text.startswith(("/", "http"))):
        raise AnnotationValueError("must be an http(s) URL or a path (letters, digits, . _ -)")
    return text


def _match_cn(value: str) -> str:
    """``CN=`` and a regular expression over the subject (``CN=(alice|bob)``)."""
    if not _CN.match(value):
        raise AnnotationValueError(
            'must be "CN=" and a regular expression (letters, digits, spaces, . , _ * + ? | ( )'
            " [ ] ^ $ \\ = @ : / -)"
        )
    try:
        re.compile(value)
    except re.error as error:
        raise AnnotationValueError(f"not a regular expression: {error}") from None
    return value


@dataclass(frozen=True, slots=True)
class ClientTLS:
    """A checked client certificate setup, ready to be written in a server."""

    ca: SecretFile
    crl: SecretFile | None
    verify: str
    depth: int
    error_page: str | None
    pass_certificate: bool
    match_cn: str | None


@dataclass(frozen=True, slots=True)
class HostClientTLS:
    """What the host's Ingresses decided: a setup, or a denial of the whole host."""

    plan: ClientTLS | None
    denied: bool = False


@dataclass(frozen=True, slots=True)
class ClientTLSOptions:
    """auth-tls-* of one Ingress; `plan` once resolved; `host` once the host is settled."""

    secret: SecretRef | Invalid | None = None
    verify: str | Invalid | None = None
    depth: int | Invalid | None = None
    error_page: str | Invalid | None = None
    pass_certificate: bool | Invalid = False
    match_cn: str | Invalid | None = None
    plan: ClientTLS | None = None
    denied: str | None = None
    host: HostClientTLS | None = None
    """The host's decision (`settle`), the same on every location of the host."""


_HOST_WIDE = "applies to the whole host, decided by its oldest Ingress setting auth-tls-secret"

ANNOTATIONS: tuple[Annotation, ...] = (
    partly("auth-tls-secret", "Secret with ca.crt (and optionally ca.crl): the CAs whose client"
           " certificates the host accepts.", f"{_HOST_WIDE}; a problem with it makes the whole"
           " host answer 503 (ingress-nginx: 403); plain HTTP is redirected to HTTPS when"
           " verification is on", "client_tls.secret", secret_ref, OnInvalid.DENY),
    partly("auth-tls-verify-client", "on (default), optional, optional_no_ca or off.",
           _HOST_WIDE, "client_tls.verify", choice(*VERIFY_MODES), OnInvalid.DENY),
    partly("auth-tls-verify-depth", "Longest client certificate chain (default 1).", _HOST_WIDE,
           "client_tls.depth", integer(0, 100), OnInvalid.DENY),
    partly("auth-tls-error-page", "Where requests with a missing or invalid certificate go.",
           f"{_HOST_WIDE}; named locations (@name) are refused", "client_tls.error_page",
           _error_page, OnInvalid.DENY),
    partly("auth-tls-pass-certificate-to-upstream", "Send the client certificate to the"
           " backends in ssl-client-cert.", _HOST_WIDE, "client_tls.pass_certificate",
           parse_bool, OnInvalid.DENY),
    partly("auth-tls-match-cn", "Subject the client certificate must match: CN= and a regex"
           " (403 otherwise).", f"{_HOST_WIDE}; the regex is limited to a plain character set",
           "client_tls.match_cn", _match_cn, OnInvalid.DENY),
)  # fmt: skip

_NAMES = field_names(ANNOTATIONS)


def resolve(lookup: Lookup, options: ClientTLSOptions) -> ClientTLSOptions:
    """Read and check the Secret; the options with a plan, or denied."""
    if options == ClientTLSOptions():
        return options
    if options.secret is None:
        lookup.warn("auth-tls-secret", "auth-tls-* have no effect without auth-tls-secret")
        return options
    lookup = replace(lookup, denies="every path of the Ingress's hosts")
    denied = lookup.invalid(options, _NAMES)
    if denied:
        return replace(options, denied=denied)
    ref = cast(SecretRef, options.secret)
    items = lookup.secret("auth-tls-secret", ref)
    if isinstance(items, str):
        return replace(options, denied=items)
    namespace, name = ref.key(lookup.ingress.namespace)
    label = f"{namespace}/{name}"
    bundle = ca_bundle(items["ca.crt"]) if "ca.crt" in items else "it has no ca.crt"
    if isinstance(bundle, str):
        return replace(options, denied=lookup.deny("auth-tls-secret", f"Secret {label}: {bundle}"))
    crl = None
    if "ca.crl" in items:
        crl_pem = revocation_list(items["ca.crl"])
        if isinstance(crl_pem, str):
            reason = f"Secret {label}: {crl_pem}"
            return replace(options, denied=lookup.deny("auth-tls-secret", reason))
        crl = SecretFile(file_name(CA_BUNDLE, namespace, name, ".crl"), label, crl_pem)
    plan = ClientTLS(
        ca=SecretFile(file_name(CA_BUNDLE, namespace, name, ".crt"), label, bundle),
        crl=crl,
        verify=cast("str | None", options.verify) or "on",
        depth=cast("int | None", options.depth) or 1,
        error_page=cast("str | None", options.error_page),
        pass_certificate=cast(bool, options.pass_certificate),
        match_cn=cast("str | None", options.match_cn),
    )
    return replace(options, plan=plan)


def settle(servers: Sequence[Server]) -> tuple[Server, ...]:
    """Stamp each host's decision on its locations: the oldest Ingress's setup, or a denial
    when any Ingress of the host asking for client certificates has a problem."""
    settled = []
    for server in servers:
        chosen = [options.client_tls for options in server.ingress_options]
        located = [location.options.client_tls for location in server.locations]
        if not any(item.plan or item.denied for item in (*chosen, *located)):
            settled.append(server)
            continue
        chosen += [  # rules without a host: the catch-all server keeps no Ingress options
            location.options.client_tls
            for location in sorted(server.locations, key=lambda item: str(item.origin))
        ]
        denied = any(item.denied for item in chosen)
        plan = None if denied else next(item.plan for item in chosen if item.plan)
        host = HostClientTLS(plan, denied)
        locations = tuple(
            replace(
                location,
                options=replace(
                    location.options, client_tls=replace(location.options.client_tls, host=host)
                ),
            )
            for location in server.locations
        )
        settled.append(replace(server, locations=locations))
    return tuple(settled)


def host_of(server: Server) -> HostClientTLS | None:
    """The host's decision, as `settle` stamped it."""
    return next((loc.options.client_tls.host for loc in server.locations), None)


def server_directives(server: Server, settings: Settings) -> list[Directive]:
    """ssl_client_certificate and friends; the redirect of plain HTTP; the subject check."""
    host = host_of(server)
    if host is None:
        return []
    if host.plan is None:
        return [directive("return", DENIED_STATUS)]
    plan = host.plan
    found = [
        directive("ssl_client_certificate", _path(settings, plan.ca)),
        directive("ssl_verify_client", trusted(plan.verify)),
        directive("ssl_verify_depth", plan.depth),
    ]
    if plan.crl is not None:
        found.append(directive("ssl_crl", _path(settings, plan.crl)))
    if plan.error_page is not None:
        found.append(directive("error_page", 495, 496, trusted("="), literal(plan.error_page)))
    if plan.verify == "on":
        found.append(block("if", [trusted("($https"), trusted("!="), trusted("on)")],
                           [directive("return", 308, _https_url(settings))]))  # fmt: skip
    if plan.match_cn is not None:
        condition = [
            trusted("($ssl_client_s_dn"),
            trusted("!~"),
            literal(plan.match_cn),
            trusted(")"),
        ]
        found.append(block("if", condition, [directive("return", 403)]))
    return found


def _path(settings: Settings, file: SecretFile) -> Token:
    return literal(str(settings.cert_dir / file.name))


def _https_url(settings: Settings) -> Token:
    """The same URL over HTTPS, on the published port (the host as HTTPS redirects have it)."""
    published = settings.published_https_port
    port = "" if published == 443 else f":{published}"
    host = redirect_host_variable(settings.config)
    return trusted(f"https://{host}{port}$request_uri")


def proxy_headers(location: Location) -> dict[str, Token]:
    """The verification result for the backend (the client cannot send these itself)."""
    host = location.options.client_tls.host
    if host is None or host.plan is None:
        return {}
    headers = {
        "ssl-client-verify": trusted("$ssl_client_verify"),
        "ssl-client-subject-dn": trusted("$ssl_client_s_dn"),
        "ssl-client-issuer-dn": trusted("$ssl_client_i_dn"),
    }
    if host.plan.pass_certificate:
        headers["ssl-client-cert"] = trusted("$ssl_client_escaped_cert")
    return headers


def files(location: Location) -> tuple[SecretFile, ...]:
    """The files the location's host needs under --cert-dir."""
    host = location.options.client_tls.host
    if host is None or host.plan is None:
        return ()
    return (host.plan.ca,) if host.plan.crl is None else (host.plan.ca, host.plan.crl)


HOOKS = Hooks(server=server_directives, headers=proxy_headers)
