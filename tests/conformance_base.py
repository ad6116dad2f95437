"""The Gateway API conformance suite's base infrastructure, rebuilt for our end-to-end tests.

The suite runs every HTTPRoute test against the same objects: three namespaces
(``gateway-conformance-infra``, labelled ``gateway-conformance: infra``; ``-app-backend`` and
``-web-backend``, labelled ``gateway-conformance: backend``), Gateways in the infra namespace
(``same-namespace`` admitting routes of its own namespace, ``all-namespaces``,
``backend-namespaces`` selecting the backend label, and ``same-namespace-with-https-listener``
with four HTTPS listeners on 443), and Services on port 8080 (target port 3000):
``infra-backend-v1..v3``, ``app-backend-v1..v2``, ``web-backend``. This module builds those
objects (the Services with EndpointSlices leading to echo backends on loopback, named as
the Services), so a test adds only its own Gateways and HTTPRoutes and checks the suite's
expectation for each request: which backend answered, the status, the headers, the
Location.

Gateways are of the class ``gateway-conformance``, served through ``--gateway-class`` as a
user running the suite's manifests would (``GATEWAY_CLASS_ARGS``); ``conformance_class``
gives instead a GatewayClass object naming our controller.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from e2e import Site, manifest_text, render
from gateway_objects import (
    CONTROLLER,
    GATEWAY_API,
    backend_ref,
    gateway_class,
    http_route,
    listener,
    namespace,
    parent,
)
from golden_cases import run_cli
from harness import LOOPBACK, EchoBackend, Nginx, Response, free_port, make_prefix, request
from tls_secrets import tls_secret

Obj = dict[str, Any]

INFRA = "gateway-conformance-infra"
APP = "gateway-conformance-app-backend"
WEB = "gateway-conformance-web-backend"
CLASS = "gateway-conformance"
GATEWAY_CLASS_ARGS = ("--gateway-class", CLASS)
CERTIFICATE = "tls-validity-checks-certificate"
CERTIFICATE_HOSTS = ["*.org", "*.wildcard.org"]

V1, V2, V3 = "infra-backend-v1", "infra-backend-v2", "infra-backend-v3"
SERVICES: dict[str, str] = {
    V1: INFRA, V2: INFRA, V3: INFRA,
    "app-backend-v1": APP, "app-backend-v2": APP, "web-backend": WEB,
}  # fmt: skip


SAME = [parent("same-namespace")]
"""The parentRefs of most of the suite's routes."""


def to(service: str, **fields: Any) -> list[Obj]:
    """backendRefs to port 8080 of one of the suite's Services (namespace... as given)."""
    return [backend_ref(service, 8080, **fields)]


def suite_route(name: str, rules: list[Obj], **fields: Any) -> Obj:
    """An HTTPRoute (in the infra namespace, attached to ``same-namespace``, unless given)."""
    parents, space = fields.pop("parents", SAME), fields.pop("namespace", INFRA)
    return http_route(name, namespace=space, parents=parents, rules=rules, **fields)


def replace_prefix(value: str) -> Obj:
    """A path modifier replacing the matched prefix."""
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": value}


def replace_full(value: str) -> Obj:
    """A path modifier replacing the whole path."""
    return {"type": "ReplaceFullPath", "replaceFullPath": value}


def conformance_class() -> Obj:
    """The suite's GatewayClass, naming our controller."""
    return gateway_class(CLASS, CONTROLLER)


def suite_gateway(name: str, listeners: Sequence[Obj], namespace_: str = INFRA) -> Obj:
    """A Gateway of the suite's class."""
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace_},
            "spec": {"gatewayClassName": CLASS, "listeners": list(listeners)}}  # fmt: skip


def https_listener(name: str, hostname: str | None = None) -> Obj:
    """An HTTPS listener on 443 with the suite's certificate, admitting its own namespace."""
    return listener(name, 443, hostname=hostname, secret=CERTIFICATE, namespaces="Same")


def base_gateways() -> list[Obj]:
    """The Gateways every conformance test may use."""
    https = [https_listener("https"), https_listener("https-with-hostname", "second-example.org"),
             https_listener("https-with-wildcard-hostname", "*.wildcard.org"),
             https_listener("https-with-hostname-matching-wildcard",
                            "fourth-example.wildcard.org")]  # fmt: skip
    return [
        suite_gateway("same-namespace", [listener("http", 80, namespaces="Same")]),
        suite_gateway("same-namespace-with-https-listener", https),
        suite_gateway("all-namespaces", [listener("http", 80, namespaces="All")]),
        suite_gateway("backend-namespaces", [listener("http", 80, namespaces="Selector",
                      selector={"matchLabels": {"gateway-conformance": "backend"}})]),
    ]  # fmt: skip


def suite_service(name: str, namespace_: str, backend: EchoBackend) -> list[Obj]:
    """A Service as the suite has it (port 8080 to target port 3000) and its EndpointSlice.

    ``infra-backend-v1`` has the suite's three named ports (8080, 8081 h2c, 8082 ws); the
    others one unnamed port. The EndpointSlice leads every port to ``backend``.
    """
    if name == V1:
        ports = [("first-port", 8080, None), ("second-port", 8081, "kubernetes.io/h2c"),
                 ("third-port", 8082, "kubernetes.io/ws")]  # fmt: skip
    else:
        ports = [("", 8080, None)]
    service_ports = []
    for port_name, number, app_protocol in ports:
        entry: Obj = {"protocol": "TCP", "port": number, "targetPort": 3000}
        if port_name:
            entry["name"] = port_name
        if app_protocol:
            entry["appProtocol"] = app_protocol
        service_ports.append(entry)
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": namespace_},
               "spec": {"selector": {"app": name}, "ports": service_ports}}  # fmt: skip
    endpoint_slice = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{name}-abcde", "namespace": namespace_,
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "ports": [{"name": port_name, "port": backend.port, "protocol": "TCP"}
                  for port_name, _, _ in ports],
        "endpoints": [{"addresses": [backend.address], "conditions": {"ready": True}}],
    }  # fmt: skip
    return [service, endpoint_slice]


def base_objects(backends: Mapping[str, EchoBackend]) -> list[Obj]:
    """Namespaces, Gateways, the TLS Secret and the backend Services of the suite."""
    objects = [
        namespace(INFRA, {"gateway-conformance": "infra"}),
        namespace(APP, {"gateway-conformance": "backend"}),
        namespace(WEB, {"gateway-conformance": "backend"}),
        tls_secret(INFRA, CERTIFICATE, CERTIFICATE_HOSTS),
        *base_gateways(),
    ]
    for name, space in SERVICES.items():
        objects += suite_service(name, space, backends[name])
    return objects


@contextlib.contextmanager
def suite_backends() -> Iterator[dict[str, EchoBackend]]:
    """One echo backend per Service of the suite, named as the Service."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(EchoBackend(name)) for name in SERVICES}


@dataclass(frozen=True)
class Gateway:
    """nginx serving the suite's objects plus a test's: HTTP on ``port``, HTTPS on ``https``.

    Requests without a Host of their own name the Gateway's address, as the suite's do.
    """

    site: Site
    https: int
    manifests: str
    """The objects served, as YAML, for ``explain``."""
    flags: tuple[str, ...]

    @property
    def port(self) -> int:
        return self.site.port

    @property
    def messages(self) -> str:
        return self.site.messages

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def get(self, target: str, host: str | None = None, **options: Any) -> Response:
        """A plain HTTP request (Host: the Gateway's address unless given)."""
        return request(self.port, target, host=host or self.address, **options)

    def get_tls(self, target: str, host: str, server_name: str | None = None) -> Response:
        """An HTTPS request with SNI ``server_name`` (default: the Host)."""
        return request(self.https, target, host=host, tls=True, server_name=server_name)

    def backend(self, target: str, host: str | None = None, **options: Any) -> str | int:
        """The backend that answered ``target`` with 200, else the status nginx answered."""
        response = self.get(target, host, **options)
        if response.status == 200 and response.backend is not None:
            return response.backend
        assert response.backend is None, f"{target}: {response.status} from {response.backend}"
        return response.status

    def explain(self, target: str, host: str | None = None, scheme: str = "http") -> str | int:
        """``explained`` for ``target`` on ``host`` (default: the Gateway's address)."""
        return self.explained(f"{scheme}://{host or self.address}{target}")

    def explained(self, url: str) -> str | int:
        """What ``explain --request URL`` says answers: a Service name, a status, or the
        Location of a redirect (``302 http://...``)."""
        answer = run_cli(["explain", "-", *self.flags, "--request", url], self.manifests)
        assert answer.code == 0, answer.messages
        outcome = answer.config.split("\nanswer:", 1)[1].splitlines()[0].strip()
        if outcome.startswith("proxied to "):
            return outcome.removeprefix("proxied to ").split("/", 1)[1].rsplit(":", 1)[0]
        status, what = outcome.split(" ", 1)
        return (
            f"{status} {what.removeprefix('redirect to ')}" if "redirect" in what else int(status)
        )

    def seen(self, target: str, host: str | None = None, **options: Any) -> dict[str, Any]:
        """The request as the backend saw it (the answer must be 200 from a backend)."""
        response = self.get(target, host, **options)
        assert (response.status, response.backend is not None) == (200, True), response.status
        answer: dict[str, Any] = response.json()
        return answer


def scenario(request: pytest.FixtureRequest, objects: list[Obj], *args: str,
             **options: Any) -> Iterator[Gateway]:  # fmt: skip
    """For a module fixture: `serving_suite` with the module's ``backends`` fixture."""
    backends = request.getfixturevalue("backends")
    binary = request.getfixturevalue("nginx_binary")
    with serving_suite(backends, objects, *args, binary=binary, **options) as gateway:
        yield gateway


@contextlib.contextmanager
def serving_suite(
    backends: Mapping[str, EchoBackend],
    objects: Iterable[Obj],
    *args: str,
    binary: str,
    extra_ports: Sequence[int] = (),
) -> Iterator[Gateway]:
    """Render the suite's base objects plus ``objects`` and serve them with nginx on loopback.

    ``args`` default to ``GATEWAY_CLASS_ARGS``; ``extra_ports`` are listener ports of the
    test's own Gateways that nginx must be listening on before requests are sent.
    """
    prefix = make_prefix()
    port, https = free_port(), free_port()
    flags = args or GATEWAY_CLASS_ARGS
    try:
        served = [*base_objects(backends), *objects]
        rendered = render(
            served, *flags, "--listen-address", LOOPBACK,
            "--http-port", str(port), "--https-port", str(https), "--runtime-dir", str(prefix),
        )  # fmt: skip
        if rendered.code != 0:
            pytest.fail(f"render exited {rendered.code}:\n{rendered.messages}", pytrace=False)
        ports = [port, https, *extra_ports]
        with Nginx(rendered.config, ports, prefix=prefix, binary=binary) as nginx:
            yield Gateway(Site(port, rendered, nginx), https, manifest_text(served), flags)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
