"""The conformance suite's HTTPRouteReferenceGrant scenario, live: ``watch`` beside nginx.

The suite serves a route using a Service of another namespace through a ReferenceGrant, then
deletes the grant and expects 500 for the same request. Here the sidecar watches the folder
holding the suite's objects; removing the grant's file must take the route's requests to 500
without a restart, and putting it back must serve them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance_base import GATEWAY_CLASS_ARGS, INFRA, WEB, base_objects, suite_backends
from gateway_objects import backend_ref, http_route, parent, route_rule
from harness import EchoBackend, NginxRunner, request
from watchrun import Sidecar, running_sidecar, write_manifests


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EchoBackend]]:
    with suite_backends() as started:
        yield started


def _grant() -> dict[str, object]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "ReferenceGrant",
            "metadata": {"name": "reference-grant", "namespace": WEB},
            "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                               "namespace": INFRA}],
                     "to": [{"group": "", "kind": "Service", "name": "web-backend"}]}}  # fmt: skip


def _answer(site: Sidecar) -> str | int:
    response = request(site.http_port, "/", host=f"127.0.0.1:{site.http_port}", timeout=2.0)
    return response.backend or response.status


def test_deleting_the_reference_grant_turns_the_route_requests_to_500(
    nginx_runner: NginxRunner, tmp_path: Path, backends: dict[str, EchoBackend]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    route = http_route("reference-grant", namespace=INFRA, parents=[parent("same-namespace")],
                       rules=[route_rule(None, [backend_ref("web-backend", 8080,
                                                            namespace=WEB)])])  # fmt: skip
    write_manifests(folder / "base.yaml", base_objects(backends))
    write_manifests(folder / "route.yaml", [route])
    write_manifests(folder / "grant.yaml", [_grant()])
    with running_sidecar(nginx_runner, tmp_path, *GATEWAY_CLASS_ARGS) as site:
        assert _answer(site) == "web-backend"
        (folder / "grant.yaml").unlink()
        site.wait_for(lambda: _answer(site) == 500, "500 once the grant is gone")
        write_manifests(folder / "grant.yaml", [_grant()])
        site.wait_for(lambda: _answer(site) == "web-backend", "served again with the grant")
