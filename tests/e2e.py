"""Helpers for end-to-end tests: manifests that route to echo backends, rendered and served.

A test describes Kubernetes objects with the small builders below (``ingress``, ``rule``,
``path``, ``to``, ``echo_service``...), renders them through the real command line, starts the
real nginx on the output and sends real requests. Every Service an Ingress names is made of an
``EchoBackend`` of the same name, so the answer says which Ingress path served it::

    with started_backends("api", "web") as echo, serving(
        [ingress("site", rules=[rule("a.test", path("/api", to("api")))]),
         *echo_service(echo["api"])],
        binary=nginx_binary,
    ) as site:
        assert site.get("/api/x", host="a.test").backend == "api"
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from golden_cases import Rendered, run_cli
from harness import LOOPBACK, EchoBackend, Nginx, Response, free_port, make_prefix, request

Obj = dict[str, Any]

INGRESS_API = "networking.k8s.io/v1"


# --------------------------------------------------------------------------- manifests


def to(service: str, port: int | str = 80) -> Obj:
    """A ``service`` backend: port by number (int) or by name (str)."""
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": service, "port": {key: port}}}


def path(value: str, backend: Obj, path_type: str | None = "Prefix") -> Obj:
    """One ``http.paths`` entry (``path_type=None`` leaves ``pathType`` out)."""
    entry: Obj = {"path": value, "backend": backend}
    if path_type is not None:
        entry["pathType"] = path_type
    return entry


def rule(host: str | None, *paths: Obj) -> Obj:
    """One rule; ``host=None`` makes a rule without host."""
    entry: Obj = {"http": {"paths": list(paths)}}
    if host is not None:
        entry["host"] = host
    return entry


def ingress(
    name: str,
    *,
    namespace: str = "default",
    rules: Sequence[Obj] = (),
    default_backend: Obj | None = None,
    class_name: str | None = "nginx",
    annotations: Mapping[str, str] | None = None,
    created: str | None = None,
) -> Obj:
    """An Ingress; ``class_name=None`` names no class, ``created`` sets creationTimestamp."""
    metadata: Obj = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = dict(annotations)
    if created:
        metadata["creationTimestamp"] = created
    spec: Obj = {}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    if default_backend is not None:
        spec["defaultBackend"] = default_backend
    if rules:
        spec["rules"] = list(rules)
    return {"apiVersion": INGRESS_API, "kind": "Ingress", "metadata": metadata, "spec": spec}


def service(name: str, namespace: str = "default", *, port_name: str = "http") -> Obj:
    """A ClusterIP Service with port 80 (named ``port_name``) to target port ``web``."""
    port = {"name": port_name, "port": 80, "targetPort": "web", "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [port]},
    }


def endpoint_slice(
    service_name: str,
    backend: EchoBackend,
    namespace: str = "default",
    *,
    ready: bool = True,
    port_name: str = "http",
    slice_name: str | None = None,
) -> Obj:
    """An EndpointSlice of ``service_name`` with one endpoint: ``backend``'s address and port."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name or f"{service_name}-{backend.port}",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv6" if ":" in backend.address else "IPv4",
        "ports": [{"name": port_name, "port": backend.port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [backend.address], "conditions": {"ready": ready}}],
    }


def echo_service(
    backend: EchoBackend, name: str | None = None, namespace: str = "default"
) -> list[Obj]:
    """A Service (default: named as the backend) and its EndpointSlice leading to ``backend``."""
    service_name = name or backend.name
    return [service(service_name, namespace), endpoint_slice(service_name, backend, namespace)]


def ingress_class(name: str = "nginx", *, default: bool = False) -> Obj:
    """An IngressClass, optionally marked as the cluster's default class."""
    metadata: Obj = {"name": name}
    if default:
        metadata["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {
        "apiVersion": INGRESS_API,
        "kind": "IngressClass",
        "metadata": metadata,
        "spec": {"controller": "k8s.io/ingress-nginx"},
    }


def manifest_text(objects: Iterable[Obj]) -> str:
    """Objects as one multi-document YAML stream."""
    return yaml.safe_dump_all(list(objects), sort_keys=False)


# --------------------------------------------------------------------------- running


def render(objects: Iterable[Obj], *args: str) -> Rendered:
    """``ingress2nginx render -`` with ``objects`` on stdin and extra arguments ``args``."""
    return run_cli(["render", "-", *args], manifest_text(objects))


@dataclass(frozen=True)
class Site:
    """nginx serving a rendered config on ``127.0.0.1:port``."""

    port: int
    rendered: Rendered
    nginx: Nginx

    def get(self, target: str, host: str, **options: Any) -> Response:
        """Send ``target`` verbatim with Host ``host`` (``options`` as ``harness.request``)."""
        return request(self.port, target, host=host, **options)

    def served_by(self, target: str, host: str) -> str | None:
        """Which echo backend answered ``target`` on ``host``; None for nginx's own 404.

        Any other answer (a 301, a 503, a 404 from a backend) fails the test on the spot.
        """
        response = self.get(target, host)
        if response.backend is None:
            assert response.status == 404, f"{host}{target}: nginx answered {response.status}"
            return None
        assert response.status == 200, f"{host}{target}: {response.status} from a backend"
        return response.backend

    @property
    def messages(self) -> str:
        """What the render printed on stderr."""
        return self.rendered.messages


@contextlib.contextmanager
def started_backends(*names: str) -> Iterator[dict[str, EchoBackend]]:
    """Echo backends on loopback, by name, closed on exit."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(EchoBackend(name)) for name in names}


@contextlib.contextmanager
def serving(
    objects: Iterable[Obj], *args: str, binary: str, expected_code: int = 0
) -> Iterator[Site]:
    """Render ``objects`` (plus ``args``) for a fresh loopback port and serve them with nginx."""
    yield from _serve(lambda extra: render(objects, *extra, *args), binary, expected_code)


@contextlib.contextmanager
def serving_files(
    files: Sequence[Path], *args: str, binary: str, expected_code: int = 0
) -> Iterator[Site]:
    """As ``serving``, with the manifests read from ``files``."""
    sources = [str(file) for file in files]
    yield from _serve(
        lambda extra: run_cli(["render", *sources, *extra, *args]), binary, expected_code
    )


def _serve(render_with: Any, binary: str, expected_code: int) -> Iterator[Site]:
    prefix = make_prefix()
    port = free_port()
    try:
        listen = ["--listen-address", LOOPBACK, "--http-port", str(port)]
        rendered = render_with([*listen, "--runtime-dir", str(prefix)])
        if rendered.code != expected_code:
            pytest.fail(f"render exited {rendered.code}:\n{rendered.messages}", pytrace=False)
        with Nginx(rendered.config, [port], prefix=prefix, binary=binary) as nginx:
            yield Site(port, rendered, nginx)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
