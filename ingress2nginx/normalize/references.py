"""Secrets that annotations name: which ones, and what they give the config.

`referenced_secrets` tells a reader of the cluster which Secrets an Ingress's annotations
name (auth-secret, proxy-ssl-secret, auth-tls-secret), so it fetches those by name and no others.
`resolve_references` reads them for one accepted Ingress (normalizing.py calls it before
routing) and returns its options with the files to write — or with its paths denied (see
secured.py). `secret_files` and `resolves_names` then read the finished servers: the files
under --cert-dir the config uses, and whether some auth URL needs nginx's ``resolver``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ingress2nginx.core.errors import Problem
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.secret_files import SecretFile
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import (
    DEFAULT_OPTIONS,
    IngressOptions,
    access,
    auth,
    backend_tls,
    client_tls,
)
from ingress2nginx.features import external_auth as external
from ingress2nginx.features.secured import Lookup, SecretRef
from ingress2nginx.model import Location, Server

_TLS_PROTOCOLS = ("HTTPS", "GRPCS")


def referenced_secrets(
    ingress: Manifest, options: IngressOptions, *, allow_cross_namespace: bool = False
) -> set[tuple[str, str]]:
    """(namespace, name) of each Secret the Ingress's annotations would read.

    `options` are what `read_options` gives. Secrets in another namespace are left out unless
    `allow_cross_namespace` (the global allow-cross-namespace-resources): they would be
    refused anyway, so they need not be read.
    """
    refs = [
        options.auth.secret if options.auth.type is not None else None,
        options.backend_tls.secret,
        options.client_tls.secret,
    ]
    found = set()
    for ref in refs:
        if isinstance(ref, SecretRef):
            key = ref.key(ingress.namespace)
            if allow_cross_namespace or key[0] == ingress.namespace:
                found.add(key)
    return found


def resolve_references(
    ingress: Manifest,
    options: IngressOptions,
    secrets: Mapping[tuple[str, str], Manifest],
    settings: Settings,
    problems: list[Problem],
) -> IngressOptions:
    """The Ingress's options with its Secrets read and checked, and its paths denied when a
    value of an access-control annotation is invalid (problems reported)."""
    if (
        options.access == DEFAULT_OPTIONS.access
        and options.auth == DEFAULT_OPTIONS.auth
        and options.external_auth == DEFAULT_OPTIONS.external_auth
        and options.backend_tls == DEFAULT_OPTIONS.backend_tls
        and options.client_tls == DEFAULT_OPTIONS.client_tls
    ):
        return options
    lookup = Lookup(
        ingress,
        secrets,
        settings.config.allow_cross_namespace_resources,
        settings.runtime_dir,
        problems,
    )
    resolved = replace(
        options,
        access=access.resolve(lookup, options.access),
        auth=auth.resolve(lookup, options.auth),
        external_auth=external.resolve(lookup, options.external_auth),
        backend_tls=backend_tls.resolve(lookup, options.backend_tls),
        client_tls=client_tls.resolve(lookup, options.client_tls),
    )
    if resolved.backend_tls.plan and options.proxy.backend_protocol not in _TLS_PROTOCOLS:
        lookup.warn("proxy-ssl-secret", "has no effect unless backend-protocol is HTTPS or GRPCS")
    return resolved


def secret_files(servers: Iterable[Server]) -> tuple[SecretFile, ...]:
    """Every file the servers' locations read from --cert-dir, by name."""
    found: dict[str, SecretFile] = {}
    for server in servers:
        for location in server.locations:
            options = location.options
            files = list(options.backend_tls.plan.files) if options.backend_tls.plan else []
            if options.auth.user_file is not None:
                files.append(options.auth.user_file)
            files.extend(client_tls.files(location))
            for file in files:
                found.setdefault(file.name, file)
    return tuple(found[name] for name in sorted(found))


def resolves_names(location: Location) -> bool:
    """Whether the location's auth URL names a host nginx must resolve at request time."""
    return external.resolves_names(location)
