"""Talking to the Kubernetes API: configuration, the client, raw JSON, and errors in words.

Everything loading.py (one list) and watching.py (list and watch) need from the
official ``kubernetes`` client lives here, so the rest of the program never touches it:

- `connect`: configuration from ``--kubeconfig PATH``, else the in-cluster service account,
  else the default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``);
- `ClusterConnection.call` and `ClusterConnection.read`: a list, watch or get of one
  `Resource`, answered as the raw response (``_preload_content=False``). The client's model
  classes are never built: for 10,000 Ingresses they cost several times the JSON parse, and
  the normalizer wants the plain dicts the file loader produces anyway (`read_json`,
  `to_manifest`). With recent clients even the typed API classes are left alone (`GENERIC`);
- `describe`: any API or transport failure as a short reason for a message (never a
  response body's data: a Secret's contents cannot reach a log through here).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client, config

from ingress2nginx.core.errors import SourceError
from ingress2nginx.core.objects import Manifest

DEFAULT_KUBECONFIG = "~/.kube/config"

ORIGIN = "cluster"
"""`Manifest.origin` of every object read from the API."""

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Resource:
    """A kind read from the API: where it lives, and the typed client methods for it."""

    kind: str
    api_version: str
    plural: str
    api: str
    """The typed client class (``CoreV1Api``), used only by older clients (see `GENERIC`)."""
    list_all: str
    """Method listing every namespace (or a cluster-scoped kind)."""
    list_namespaced: str | None
    """Method listing one namespace; None for a cluster-scoped kind."""
    read: str | None = None
    """Method reading one object by name; None when never read by name."""
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None) -> str:
        """The API path of the collection (in `namespace`, or all) or of one object."""
        root = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        scope = f"/namespaces/{quote(namespace, safe='')}" if namespace and self.namespaced else ""
        item = f"/{quote(name, safe='')}" if name is not None else ""
        return f"{root}{scope}/{self.plural}{item}"


INGRESSES = Resource(
    "Ingress", "networking.k8s.io/v1", "ingresses", "NetworkingV1Api",
    "list_ingress_for_all_namespaces", "list_namespaced_ingress",
)  # fmt: skip
INGRESS_CLASSES = Resource(
    "IngressClass", "networking.k8s.io/v1", "ingressclasses", "NetworkingV1Api",
    "list_ingress_class", None, namespaced=False,
)  # fmt: skip
SERVICES = Resource(
    "Service", "v1", "services", "CoreV1Api",
    "list_service_for_all_namespaces", "list_namespaced_service",
)  # fmt: skip
ENDPOINT_SLICES = Resource(
    "EndpointSlice", "discovery.k8s.io/v1", "endpointslices", "DiscoveryV1Api",
    "list_endpoint_slice_for_all_namespaces", "list_namespaced_endpoint_slice",
)  # fmt: skip
CUSTOM_OBJECTS = "CustomObjectsApi"
"""The typed class of custom resources, whose list methods take group, version and plural."""
SECRETS = Resource("Secret", "v1", "secrets", "CoreV1Api", "", None, "read_namespaced_secret")
"""Secrets are only ever read by name, never listed: no list method."""

API_ERRORS = (client.ApiException, urllib3.exceptions.HTTPError, OSError, ValueError)
"""What a broken connection, an unhappy API server or a garbled answer raise."""

GENERIC = hasattr(client.ApiClient, "param_serialize")
"""Whether requests are built from the API path by the `ApiClient` itself (clients generated
by openapi-generator's ``python`` generator, as 37.x). Their typed API classes import hundreds
of pydantic models (over a second of startup; far more on a busy node), so they are not used;
older (``python-legacy``) clients go through their typed list methods."""

_PYTHON_NAMES = {
    "limit": "limit",
    "continue": "_continue",
    "watch": "watch",
    "resourceVersion": "resource_version",
    "allowWatchBookmarks": "allow_watch_bookmarks",
    "timeoutSeconds": "timeout_seconds",
}
"""API query parameters as the typed methods spell them."""

Timeout = tuple[float, float]
"""(connect, read) seconds; the read timeout bounds every wait for bytes."""


class ClusterConnection:
    """An API client for one cluster, and the server's address for messages."""

    def __init__(self, configuration: client.Configuration, pool_size: int = 16) -> None:
        configuration.retries = False  # retries are ours: with backoff, and quiet
        configuration.keep_alive = True  # TCP keepalive: a dead peer is noticed on idle watches
        configuration.connection_pool_maxsize = pool_size
        self.server: str = configuration.host
        self.api_client = client.ApiClient(configuration)
        self.generic = GENERIC

    def where(self) -> str:
        """How messages name the API server."""
        return f"Kubernetes API {self.server}"

    def call(
        self,
        resource: Resource,
        namespace: str | None,
        query: dict[str, Any],
        timeout: Timeout = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> Any:
        """A list or watch of `resource` in `namespace` (None: all) with API `query`
        parameters: the raw urllib3 response, its body unread. Non-2xx raise ApiException."""
        if self.generic:
            return self._get(resource.path(namespace), query, timeout)
        api = getattr(client, resource.api)(self.api_client)
        options = {_PYTHON_NAMES[key]: value for key, value in query.items()}
        options.update(_preload_content=False, _request_timeout=timeout)
        if resource.api == CUSTOM_OBJECTS:  # a custom resource (the Gateway API's)
            group, version = resource.api_version.split("/")
            if namespace is None or resource.list_namespaced is None:
                return api.list_cluster_custom_object(group, version, resource.plural, **options)
            return api.list_namespaced_custom_object(
                group, version, namespace, resource.plural, **options
            )
        if namespace is None or resource.list_namespaced is None:
            return getattr(api, resource.list_all)(**options)
        return getattr(api, resource.list_namespaced)(namespace, **options)

    def read(self, resource: Resource, namespace: str, name: str) -> Any:
        """One object by name, as `call` answers."""
        timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        if self.generic or resource.read is None:
            return self._get(resource.path(namespace, name), {}, timeout)
        api = getattr(client, resource.api)(self.api_client)
        method = getattr(api, resource.read)
        return method(name, namespace, _preload_content=False, _request_timeout=timeout)

    def _get(self, path: str, query: dict[str, Any], timeout: Timeout) -> Any:
        return self.send("GET", path, query=query, timeout=timeout)

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Timeout = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> Any:
        """The raw response of any request to an API path (``ApiException`` unless 2xx).

        Writes (the Ingress status publisher's PATCH, its Lease's POST and PUT) go through
        here too, so no typed API class is ever imported."""
        parameters = [
            (key, ("true" if value else "false") if isinstance(value, bool) else value)
            for key, value in (query or {}).items()
        ]
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        if not GENERIC:  # older clients: call_api(resource_path, method, ...)
            legacy_call = getattr(self.api_client, "call_api")  # noqa: B009 (typed for 37.x)
            return legacy_call(
                path, method, query_params=parameters, header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False, _request_timeout=timeout,
            )  # fmt: skip
        request = self.api_client.param_serialize(
            method,
            path,
            query_params=parameters,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*request, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            response.read()  # type: ignore[no-untyped-call]
            raise client.ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]


def connect(kubeconfig: Path | None = None, pool_size: int = 16) -> ClusterConnection:
    """A connection configured from `kubeconfig`, else in-cluster (the pod's service account),
    else the default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``).

    Raises `SourceError` when no configuration can be loaded.
    """
    configuration = client.Configuration()
    if kubeconfig is not None:
        try:
            _load_kubeconfig(str(kubeconfig), configuration)
        except _CONFIG_ERRORS as error:
            raise SourceError(f"kubeconfig {kubeconfig}", _first_line(error)) from error
        return ClusterConnection(configuration, pool_size)
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except _CONFIG_ERRORS as in_cluster:
        default = os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG  # read now, not at import
        try:
            _load_kubeconfig(default, configuration, must_exist=False)
        except _CONFIG_ERRORS as error:
            reason = (
                f"not in a cluster ({_first_line(in_cluster)}) and the kubeconfig {default}"
                f" cannot be used ({_first_line(error)}); pass --kubeconfig PATH"
            )
            raise SourceError("Kubernetes configuration", reason) from error
    return ClusterConnection(configuration, pool_size)


_CONFIG_ERRORS = (config.ConfigException, OSError, ValueError, TypeError, KeyError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _load_kubeconfig(
    path: str, configuration: client.Configuration, *, must_exist: bool = True
) -> None:
    """Load `path` (``$KUBECONFIG`` may list several files, separated by ``:``)."""
    if must_exist and not Path(path).is_file():
        raise config.ConfigException(f"no such file: {path}")
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=path, client_configuration=configuration, persist_config=False
    )


def read_json(response: Any) -> dict[str, Any]:
    """The JSON object of a raw response, the connection returned to the pool."""
    try:
        document = json.loads(response.data)
    finally:
        response.release_conn()
    if not isinstance(document, dict):
        raise ValueError("the API answered something other than a JSON object")
    return document


def to_manifest(item: Any, resource: Resource) -> Manifest | None:
    """One API object as the file loader would have produced it (a list item gets back the
    kind and apiVersion lists omit); None when unusable."""
    if not isinstance(item, dict):
        return None
    metadata = item.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return None
    metadata.pop("managedFields", None)
    item["kind"] = resource.kind
    item["apiVersion"] = resource.api_version
    namespace = metadata.get("namespace") if resource.namespaced else ""
    if not isinstance(namespace, str):
        return None
    return Manifest(resource.kind, namespace, metadata["name"], item, ORIGIN)


# --- Secrets ---------------------------------------------------------------------------------


# --- errors ----------------------------------------------------------------------------------


def api_error(connection: ClusterConnection, action: str, error: BaseException) -> SourceError:
    """A `SourceError` naming the server, what was attempted and why it failed."""
    return SourceError(connection.where(), f"cannot {action}: {describe(error)}")


def describe(error: BaseException) -> str:
    """A short reason for an API or transport failure (never a response body's data)."""
    if isinstance(error, client.ApiException):
        return status_reason(error)
    if isinstance(error, urllib3.exceptions.ReadTimeoutError):
        return "no answer in time (read timed out)"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "the connection was closed before the answer ended"
    cause: object = error
    seen: set[int] = set()
    while isinstance(cause, BaseException) and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
        cause = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def status_reason(error: client.ApiException) -> str:
    """``403 Forbidden: <the Status message>`` from an API error response."""
    message = ""
    try:
        status = json.loads(error.body or "")
        if isinstance(status, dict) and isinstance(status.get("message"), str):
            message = status["message"]
    except ValueError:
        pass
    head = f"{error.status} {error.reason or ''}".strip()
    return f"{head}: {message}" if message else head


def is_transient(error: BaseException) -> bool:
    """Whether trying again may help: transport trouble, throttling, a server error."""
    if isinstance(error, client.ApiException):
        return error.status in (0, 429) or error.status >= 500
    return True
