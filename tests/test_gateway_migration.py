"""``migration-report --to-gateway-api`` writes HTTPRoutes that give the Ingresses' answers.

For Ingress inputs of every routing kind (path types, hosts, conflicts, default backends),
the Gateway and HTTPRoutes written are rendered with the input's Services, and many requests
are replayed on both configs (explaining.py's replay of nginx's choice): the same backend or
status answers each. One case is also served by real nginx, both ways, request by request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import echo_service, manifest_text, serving, started_backends
from golden_cases import run_cli

from ingress2nginx.core.objects import Inventory
from ingress2nginx.core.settings import Settings
from ingress2nginx.model import Config, Respond
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.report.explaining import describe, explain_request
from ingress2nginx.sources.loading import load_text

ROOT = Path(__file__).parent.parent
INPUTS = [
    ROOT / "samples" / "simple-app.yaml",
    ROOT / "samples" / "multi-host-site.yaml",
    ROOT / "samples" / "default-backend.yaml",
    ROOT / "tests" / "golden" / "path-types" / "ingress.yaml",
    ROOT / "tests" / "golden" / "conflicts" / "ingress.yaml",
    ROOT / "tests" / "golden" / "default-backends" / "ingress.yaml",
    ROOT / "tests" / "golden" / "hosts-and-wildcards" / "ingress.yaml",
]
SUFFIXES = ("", "/", "/x", "x", "/x/y")


def converted(source: Path) -> tuple[str, str]:
    """(the written Gateway API YAML, the messages)."""
    result = run_cli(["migration-report", "--to-gateway-api", str(source)])
    assert result.code == 0, result.messages
    return result.config, result.messages


def config_of(text: str) -> Config:
    loaded = load_text(text, "input.yaml")
    return normalize(Inventory.build(loaded.manifests), Settings()).config


def _others(text: str) -> str:
    """The input's objects other than Ingresses (Services, EndpointSlices, Secrets)."""
    documents = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    kept = [doc for doc in documents if doc.get("kind") not in ("Ingress", "IngressClass")]
    return manifest_text(kept) if kept else ""


def requests_for(config: Config) -> list[str]:
    """Every Ingress host (but wildcards, which are not converted) and an unknown one, with
    every path of the input and requests around it."""
    hosts = {route.host for route in config.routes if not route.host.startswith("*.")}
    hosts |= {"unknown.test"}
    paths = {"/", "/nothing/here"}
    for route in config.routes:
        base = route.path.rstrip("/") or ""
        paths |= {f"{base}{suffix}" or "/" for suffix in SUFFIXES}
    return [f"http://{host or 'unknown.test'}{path}" for host in sorted(hosts)
            for path in sorted(paths) if path.startswith("/")]  # fmt: skip


def answer(config: Config, url: str) -> str:
    """The backend that answers `url`, or the status nginx answers with (its reason aside)."""
    action = explain_request(config, url).location.action
    return f"status {action.status}" if isinstance(action, Respond) else describe(action)


@pytest.mark.parametrize(
    "source", INPUTS, ids=lambda source: source.parent.name + "/" + source.name
)
def test_the_written_httproutes_answer_every_request_as_the_ingresses_do(source: Path) -> None:
    text = source.read_text()
    written, _ = converted(source)
    ingress_config = config_of(text)
    route_config = config_of(written + "---\n" + _others(text))
    assert any(route.origin.kind == "HTTPRoute" for route in route_config.routes)
    differences = [
        (url, answer(ingress_config, url), answer(route_config, url))
        for url in requests_for(ingress_config)
        if answer(ingress_config, url) != answer(route_config, url)
    ]
    assert not differences, differences[:5]


def test_what_cannot_carry_over_is_listed() -> None:
    _, messages = converted(ROOT / "tests" / "golden" / "hosts-and-wildcards" / "ingress.yaml")
    assert "wildcard host" in messages


NAMED_PORTS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: web}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: fallback, port: {name: http}}}
  rules:
  - host: shop.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
"""


def test_a_port_named_without_its_service_is_left_out_and_named_once_with_its_field() -> None:
    result = run_cli(["migration-report", "--to-gateway-api", "-"], stdin_text=NAMED_PORTS)
    assert result.code == 0, result.messages
    tail = "port http is named and its Service is not in the input; left out"
    assert f"note: web/shop spec.defaultBackend: {tail}" in result.messages
    assert f"note: web/shop spec.rules[0].http.paths[0]: {tail}" in result.messages


@pytest.fixture(scope="module")
def both(nginx_binary: str) -> Iterator[tuple[Any, Any]]:
    source = ROOT / "samples" / "multi-host-site.yaml"
    written, _ = converted(source)
    ingresses = [doc for doc in yaml.safe_load_all(source.read_text()) if isinstance(doc, dict)]
    routes = list(yaml.safe_load_all(written))
    names = sorted({ref["name"] for doc in routes if doc["kind"] == "HTTPRoute"
                    for rule in doc["spec"]["rules"] for ref in rule["backendRefs"]})  # fmt: skip
    namespaces = {ref["name"]: doc["metadata"]["namespace"] for doc in routes
                  if doc["kind"] == "HTTPRoute" for rule in doc["spec"]["rules"]
                  for ref in rule["backendRefs"]}  # fmt: skip
    with started_backends(*names) as echo:
        services = [obj for name in names for obj in echo_service(echo[name], name,
                    namespaces[name])]  # fmt: skip
        plain = [doc for doc in ingresses if doc.get("kind") == "Ingress"]
        with (
            serving([*plain, *services], binary=nginx_binary) as by_ingress,
            serving([*routes, *services], binary=nginx_binary) as by_route,
        ):
            yield by_ingress, by_route


def test_real_nginx_answers_the_same_from_both(both: tuple[Any, Any]) -> None:
    by_ingress, by_route = both
    config = config_of((ROOT / "samples" / "multi-host-site.yaml").read_text())
    for url in requests_for(config):
        host, _, path = url.removeprefix("http://").partition("/")
        target = "/" + path
        expected = by_ingress.get(target, host)
        got = by_route.get(target, host)
        assert (got.status, got.backend) == (expected.status, expected.backend), url
