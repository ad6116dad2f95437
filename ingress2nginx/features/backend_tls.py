"""proxy-ssl-*: how nginx checks an HTTPS (or gRPCS) backend, and proves itself to it.

proxy-ssl-secret names a Secret (``namespace/name``; ``name`` is the Ingress's namespace)
holding ``ca.crt`` (the CAs that sign the backend's certificate) and/or ``tls.crt`` with
``tls.key`` (a client certificate nginx presents). They are written under --cert-dir as
``ca-<namespace>_<name>.crt`` and ``client-<namespace>_<name>.crt``/``.key`` and named by
``proxy_ssl_trusted_certificate`` / ``proxy_ssl_certificate`` (``grpc_ssl_*`` for GRPCS
backends). proxy-ssl-verify, -verify-depth, -ciphers, -protocols, -name and -server-name take
effect with the Secret, with ingress-nginx's defaults (verify off, depth 1, ciphers DEFAULT,
protocols TLSv1.2, server name off), as in ingress-nginx; without it they do nothing and a
warning says so.

A Secret that is missing, unreadable, without usable keys, or proxy-ssl-verify on without a
``ca.crt``, denies the Ingress's paths (503, secured.py): the backend is never reached
unchecked when checking was asked for. For the same reason a backend reached with these
settings gets an upstream of its own per set of settings (`connection_pool`): nginx reuses an
upstream's keepalive connections whatever TLS settings opened them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, cast

from ingress2nginx.core.directives import Directive, directive
from ingress2nginx.core.quoting import literal, trusted
from ingress2nginx.core.secret_files import (
    CA_BUNDLE,
    CLIENT_CERTIFICATE,
    SecretFile,
    ca_bundle,
    certificate_and_key,
    file_name,
)
from ingress2nginx.features.base import (
    Annotation,
    AnnotationValueError,
    Hooks,
    Invalid,
    OnInvalid,
    partly,
)
from ingress2nginx.features.secured import Lookup, SecretRef, field_names, secret_ref
from ingress2nginx.features.values import choice, cipher_list, integer

if TYPE_CHECKING:
    from ingress2nginx.core.settings import Settings
    from ingress2nginx.model import Location

PROTOCOLS = ("TLSv1.2", "TLSv1.3")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")


def _protocols(value: str) -> tuple[str, ...]:
    """TLSv1.2 and/or TLSv1.3, separated by spaces; sorted as ingress-nginx sorts them."""
    found = sorted(set(value.split()))
    if not found or any(protocol not in PROTOCOLS for protocol in found):
        raise AnnotationValueError("must be TLSv1.2 and/or TLSv1.3, separated by spaces")
    return tuple(found)


def _server_name(value: str) -> str:
    """A DNS name (letters, digits, ``.`` and ``-``)."""
    if not _NAME.match(value.strip()):
        raise AnnotationValueError("must be a host name (letters, digits, . and -)")
    return value.strip()


@dataclass(frozen=True, slots=True)
class BackendTLS:
    """Checked settings and files, ready to be written."""

    ca: SecretFile | None
    certificate: SecretFile | None
    key: SecretFile | None
    verify: str
    depth: int
    ciphers: str
    protocols: tuple[str, ...]
    name: str | None
    server_name: str

    @property
    def files(self) -> tuple[SecretFile, ...]:
        """The files to write under --cert-dir."""
        return tuple(file for file in (self.ca, self.certificate, self.key) if file is not None)


@dataclass(frozen=True, slots=True)
class BackendTLSOptions:
    """proxy-ssl-* of one Ingress (None: not set); `plan` once the Secret is read."""

    secret: SecretRef | Invalid | None = None
    verify: str | Invalid | None = None
    depth: int | Invalid | None = None
    ciphers: str | Invalid | None = None
    protocols: tuple[str, ...] | Invalid | None = None
    name: str | Invalid | None = None
    server_name: str | Invalid | None = None
    plan: BackendTLS | None = None
    denied: str | None = None


_FAIL_CLOSED = (
    "an invalid value makes the paths answer 503 (ingress-nginx falls back to the default)"
)

ANNOTATIONS: tuple[Annotation, ...] = (
    partly("proxy-ssl-secret", "Secret with ca.crt (CAs to verify an HTTPS backend) and/or"
           " tls.crt + tls.key (client certificate nginx presents): namespace/name.",
           "tls.crt + tls.key are used without ca.crt too (ingress-nginx then ignores them);"
           " a missing or unusable Secret makes the paths answer 503",
           "backend_tls.secret", secret_ref, OnInvalid.DENY),
    partly("proxy-ssl-verify", "Verify the backend's certificate against ca.crt: on or off"
           " (default off).", f"{_FAIL_CLOSED}; on without ca.crt answers 503",
           "backend_tls.verify", choice("on", "off"), OnInvalid.DENY),
    partly("proxy-ssl-verify-depth", "Longest certificate chain accepted from the backend"
           " (default 1).", _FAIL_CLOSED, "backend_tls.depth", integer(0, 100), OnInvalid.DENY),
    partly("proxy-ssl-ciphers", "OpenSSL ciphers towards the backend (default DEFAULT).",
           _FAIL_CLOSED, "backend_tls.ciphers", cipher_list, OnInvalid.DENY),
    partly("proxy-ssl-protocols", "TLS versions towards the backend: TLSv1.2 and/or TLSv1.3"
           " (default TLSv1.2).", _FAIL_CLOSED, "backend_tls.protocols", _protocols,
           OnInvalid.DENY),
    partly("proxy-ssl-name", "Name checked in the backend's certificate and sent by SNI.",
           f"a host name without variables; {_FAIL_CLOSED}", "backend_tls.name",
           _server_name, OnInvalid.DENY),
    partly("proxy-ssl-server-name", "Send the name by SNI to the backend: on or off (default"
           " off).", _FAIL_CLOSED, "backend_tls.server_name", choice("on", "off"), OnInvalid.DENY),
)  # fmt: skip

_NAMES = field_names(ANNOTATIONS)


def connection_pool(plan: BackendTLS) -> str:
    """A short digest of the TLS settings: backends reached with different settings use
    different upstreams (backends.py), so no keepalive connection opened with one set of
    settings (another CA, no client certificate, no verification) serves the other."""
    identity = repr((plan.files, plan.verify, plan.depth, plan.ciphers, plan.protocols,
                     plan.name, plan.server_name))  # fmt: skip
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def resolve(lookup: Lookup, options: BackendTLSOptions) -> BackendTLSOptions:
    """Read and check the Secret; the options with a plan, or denied."""
    if options == BackendTLSOptions():
        return options
    if options.secret is None:
        for item in fields(options):
            if getattr(options, item.name) is not None:
                lookup.warn(_NAMES[item.name], "has no effect without proxy-ssl-secret")
        return options
    denied = lookup.invalid(options, _NAMES)
    if denied:
        return replace(options, denied=denied)
    plan = _plan(lookup, options, cast(SecretRef, options.secret))
    if isinstance(plan, str):
        return replace(options, denied=plan)
    return replace(options, plan=plan)


def _plan(lookup: Lookup, options: BackendTLSOptions, ref: SecretRef) -> BackendTLS | str:
    items = lookup.secret("proxy-ssl-secret", ref)
    if isinstance(items, str):
        return items
    namespace, name = ref.key(lookup.ingress.namespace)
    label = f"{namespace}/{name}"
    ca = certificate = key = None
    if "ca.crt" in items:
        bundle = ca_bundle(items["ca.crt"])
        if isinstance(bundle, str):
            return lookup.deny("proxy-ssl-secret", f"Secret {label}: {bundle}")
        ca = SecretFile(file_name(CA_BUNDLE, namespace, name, ".crt"), label, bundle)
    if "tls.crt" in items or "tls.key" in items:
        pair = certificate_and_key(items.get("tls.crt", b""), items.get("tls.key", b""))
        if isinstance(pair, str):
            return lookup.deny("proxy-ssl-secret", f"Secret {label}: {pair}")
        stem = file_name(CLIENT_CERTIFICATE, namespace, name, "")
        certificate = SecretFile(f"{stem}.crt", label, pair[0])
        key = SecretFile(f"{stem}.key", label, pair[1])
    if ca is None and certificate is None:
        return lookup.deny(
            "proxy-ssl-secret", f"Secret {label} holds neither ca.crt nor tls.crt and tls.key"
        )
    verify = cast("str | None", options.verify) or "off"
    if verify == "on" and ca is None:
        return lookup.deny("proxy-ssl-verify", f"on needs ca.crt, which Secret {label} lacks")
    return BackendTLS(
        ca=ca,
        certificate=certificate,
        key=key,
        verify=verify,
        depth=cast("int | None", options.depth) or 1,
        ciphers=cast("str | None", options.ciphers) or "DEFAULT",
        protocols=cast("tuple[str, ...] | None", options.protocols) or ("TLSv1.2",),
        name=cast("str | None", options.name),
        server_name=cast("str | None", options.server_name) or "off",
    )


def location_directives(location: Location, settings: Settings) -> list[Directive]:
    """``proxy_ssl_*`` (``grpc_ssl_*`` towards GRPCS backends) from the plan."""
    plan = location.options.backend_tls.plan
    if plan is None:
        return []
    prefix = "grpc_ssl_" if location.options.proxy.backend_protocol == "GRPCS" else "proxy_ssl_"

    found = []
    if plan.ca is not None:
        found.append(
            directive(
                f"{prefix}trusted_certificate", literal(str(settings.cert_dir / plan.ca.name))
            )
        )
    if plan.certificate is not None and plan.key is not None:
        found.append(
            directive(
                f"{prefix}certificate", literal(str(settings.cert_dir / plan.certificate.name))
            )
        )
        found.append(
            directive(f"{prefix}certificate_key", literal(str(settings.cert_dir / plan.key.name)))
        )
    found += [
        directive(f"{prefix}ciphers", literal(plan.ciphers)),
        directive(f"{prefix}protocols", *map(trusted, plan.protocols)),
        directive(f"{prefix}verify", trusted(plan.verify)),
        directive(f"{prefix}verify_depth", plan.depth),
    ]
    if plan.name is not None:
        found.append(directive(f"{prefix}name", literal(plan.name)))
    found.append(directive(f"{prefix}server_name", trusted(plan.server_name)))
    return found


HOOKS = Hooks(location=location_directives)
