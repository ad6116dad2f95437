"""Reading the live Kubernetes API into `Manifest` records: the cluster as a source.

``render``, ``check`` and ``explain --from-cluster`` read the API once (`load_cluster`) into the
same `LoadResult` the file loader produces, so one normalizer serves both sources and the same
objects give the same nginx.conf.

Read: Ingresses (``networking.k8s.io/v1``), IngressClasses, Services and EndpointSlices
(``discovery.k8s.io/v1``), listed page by page in every namespace or in each ``--namespace``,
EndpointSlices not at all with ``--endpoints service-dns``; the Gateway API's objects
(cluster/gateway.py); and only the Secrets that served Ingresses name (`referenced_secrets`),
each fetched by name with ``get`` so RBAC can be narrowed to ``get`` on those names. Secret
data is never logged or printed. cluster/caching.py keeps the same objects current for
``watch``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from ingress2nginx.cluster.connecting import (
    API_ERRORS,
    ENDPOINT_SLICES,
    INGRESS_CLASSES,
    INGRESSES,
    SECRETS,
    SERVICES,
    ClusterConnection,
    Resource,
    api_error,
    connect,
    is_transient,
    read_json,
    status_reason,
    to_manifest,
)
from ingress2nginx.cluster.gateway import read_gateway_objects
from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import PREFIX, read_options
from ingress2nginx.normalize.classifying import select_served
from ingress2nginx.normalize.references import referenced_secrets as annotated_secrets
from ingress2nginx.normalize.validating import read_tls
from ingress2nginx.sources.loading import LoadResult

PAGE_SIZE = 500
"""Items per list request: large lists come in pages, as kubectl and client-go ask for them."""

LIST_ATTEMPTS = 3
"""A one-shot list is tried this many times (0.5 s, then 1 s apart) before giving up."""

SECRET_FETCHERS = 8
"""Secrets fetched in parallel: thousands of TLS hosts must not mean thousands of round trips
in a row."""


class EndpointsMode(enum.StrEnum):
    """How backends reach pods (``--endpoints``)."""

    SLICES = "slices"
    """Read EndpointSlices: an ``upstream`` of ready pod addresses; every pod change is a new
    config and an nginx reload."""
    SERVICE_DNS = "service-dns"
    """Never read EndpointSlices: proxy to the Service DNS name, resolved by nginx at request
    time (``--endpoints service-dns``); pod churn never reloads nginx, and nginx balances
    over ClusterIPs, not pods."""


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Where and what to read: the command line's ``--from-cluster`` options."""

    kubeconfig: Path | None = None
    namespaces: tuple[str, ...] = ()
    """Namespaces to read; empty means all."""
    endpoints: EndpointsMode = EndpointsMode.SLICES

    def resources(self) -> tuple[Resource, ...]:
        """The kinds listed (Secrets are fetched by name, never listed)."""
        if self.endpoints is EndpointsMode.SERVICE_DNS:
            return (INGRESS_CLASSES, INGRESSES, SERVICES)
        return (INGRESS_CLASSES, INGRESSES, SERVICES, ENDPOINT_SLICES)

    def scopes(self, resource: Resource) -> tuple[str | None, ...]:
        """The namespaces to list `resource` in; (None,) means all (or cluster-scoped)."""
        if resource.list_namespaced is None or not self.namespaces:
            return (None,)
        return tuple(sorted(set(self.namespaces)))


@dataclass(frozen=True, slots=True)
class Listing:
    """One resource listed in one scope."""

    manifests: tuple[Manifest, ...]
    resource_version: str
    """The list's resourceVersion: where a watch starts so that no change is missed."""


def load_cluster(options: ClusterOptions, settings: Settings) -> LoadResult:
    """Everything `options` names, read once: the one-shot ``render --from-cluster``.

    Raises `SourceError` (naming the server and the reason) when the API cannot be listed;
    a Secret that cannot be read is a problem, not an error.
    """
    connection = connect(options.kubeconfig)
    try:
        manifests: list[Manifest] = []
        for resource in options.resources():
            for namespace in options.scopes(resource):
                manifests.extend(list_with_retries(connection, resource, namespace).manifests)
        scopes = {True: options.scopes(INGRESSES), False: (None,)}
        gateway, listener_secrets = read_gateway_objects(
            connection, scopes, settings, list_with_retries
        )
        manifests.extend(gateway)
        wanted = referenced_secrets(manifests, settings) | listener_secrets
        secrets, problems = fetch_secrets(connection, wanted)
        return LoadResult(tuple(manifests + secrets), tuple(problems))
    finally:
        connection.close()


def list_with_retries(
    connection: ClusterConnection, resource: Resource, namespace: str | None
) -> Listing:
    """`list_resource`, tried `LIST_ATTEMPTS` times; the last failure as a `SourceError`."""
    for attempt in range(LIST_ATTEMPTS):
        try:
            return list_resource(connection, resource, namespace)
        except API_ERRORS as error:
            if attempt + 1 == LIST_ATTEMPTS or not is_transient(error):
                raise api_error(connection, f"list {_scope(resource, namespace)}", error) from error
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def list_resource(
    connection: ClusterConnection, resource: Resource, namespace: str | None
) -> Listing:
    """Every object of `resource` in `namespace` (None: all), page by page."""
    manifests: list[Manifest] = []
    token: str | None = None
    while True:
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        if token:
            query["continue"] = token
        try:
            document = read_json(connection.call(resource, namespace, query))
        except client.ApiException as error:
            if error.status != 410 or not token:
                raise
            manifests, token = [], None  # the continue token expired: list again from the top
            continue
        metadata = document.get("metadata") or {}
        found = (to_manifest(item, resource) for item in document.get("items") or ())
        manifests.extend(manifest for manifest in found if manifest is not None)
        token = metadata.get("continue")
        if not token:
            return Listing(tuple(manifests), str(metadata.get("resourceVersion") or ""))


# --- Secrets ---------------------------------------------------------------------------------


def referenced_secrets(manifests: Iterable[Manifest], settings: Settings) -> set[tuple[str, str]]:
    """(namespace, name) of each Secret a served Ingress names: ``spec.tls[].secretName``, and
    the Secrets its annotations read (auth-secret, auth-tls-secret, proxy-ssl-secret: see
    `annotations.references.referenced_secrets`).

    Ingresses of other classes are not served, so their Secrets are never read. Annotations
    naming a Secret of another namespace are followed only with the global option
    allow-cross-namespace-resources. Names that cannot be Secret names are left out. An
    Ingress is read here before validation (`read_tls`): the Secrets of one whose current
    version is rejected are fetched still (watch mode may serve its last good version).
    """
    ingresses = [m for m in manifests if m.kind == "Ingress"]
    classes = {m.name: m for m in manifests if m.kind == "IngressClass"}
    cross_namespace = settings.config.allow_cross_namespace_resources
    found: set[tuple[str, str]] = set()
    for ingress in select_served(ingresses, classes, settings, []):
        found |= {(ingress.namespace, e.secret_name) for e in read_tls(ingress) if e.secret_name}
        if any(key.startswith(PREFIX) and "secret" in key for key in ingress.annotations):
            options, _ = read_options(ingress)  # only then: parsing every annotation costs
            found |= annotated_secrets(ingress, options, allow_cross_namespace=cross_namespace)
    return found


SecretAnswer = Manifest | None | Problem
"""What one fetch gives: the Secret, None when it does not exist, or why it cannot be read."""


def fetch_secret(connection: ClusterConnection, namespace: str, name: str) -> SecretAnswer:
    """``get`` one Secret by name. Transport errors raise (the caller decides on retries)."""
    try:
        response = connection.read(SECRETS, namespace, name)
    except client.ApiException as error:
        if error.status == 404:
            return None
        if error.status not in (401, 403):
            raise
        reason = f"cannot be read: {status_reason(error)}; its hosts get the default certificate"
        return Problem(
            Severity.WARNING, ObjectRef("Secret", namespace, name), "", reason, Code.SECRET
        )
    return to_manifest(read_json(response), SECRETS)


def fetch_secrets(
    connection: ClusterConnection, wanted: Iterable[tuple[str, str]]
) -> tuple[list[Manifest], list[Problem]]:
    """Fetch every wanted Secret in parallel; transport failures raise `SourceError`."""
    keys = sorted(wanted)
    if not keys:
        return [], []
    with ThreadPoolExecutor(SECRET_FETCHERS, thread_name_prefix="secret") as pool:
        futures = [pool.submit(fetch_secret, connection, *key) for key in keys]
        answers: list[SecretAnswer] = []
        for (namespace, name), future in zip(keys, futures, strict=True):
            try:
                answers.append(future.result())
            except API_ERRORS as error:
                action = f"get secret {namespace}/{name}"
                raise api_error(connection, action, error) from error
    secrets = [answer for answer in answers if isinstance(answer, Manifest)]
    problems = [answer for answer in answers if isinstance(answer, Problem)]
    return secrets, problems


# --- errors ----------------------------------------------------------------------------------


def _scope(resource: Resource, namespace: str | None) -> str:
    return f"{resource.plural} in namespace {namespace}" if namespace else resource.plural
