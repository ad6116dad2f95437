"""Edge values of every annotation, and every annotation with each kind of backend, give a
config nginx accepts, with every neighbour served.

The hostile-input properties (test_security_hostile.py) send a sample of their outputs
through ``nginx -t``; values at the edges of an allowlist — 0, the largest number nginx
takes and one more, sizes with and without units — are where an accepted value still made
nginx refuse the whole config (``limit_req burst=0``, ``limit_conn 65536``,
``proxy_max_temp_file_size 1g``, ``split_clients 0%``); and a backend reached by name at
request time rather than through an upstream is where a directive that needs a literal
``proxy_pass`` broke it (``proxy_redirect default``). Here each of them goes through the real
``nginx -t``, every time.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e import Obj, ingress, path, rule, service, to
from fuzz_pipeline import checked, nginx_accepts, run_objects, server_block
from test_security_hostile import (
    INGRESS_CLASS,
    PARSED,
    PREFIX,
    VICTIM_HOST,
    all_objects,
    annotation_tenant,
    companions,
    valid_examples,
    victim_objects,
    victim_reference,
)

EDGES = ("0", "1", "-1", "65535", "65536", "1000000", "2147483648", "1g", "1024m", "4k", "")
"""Numbers around nginx's limits (connections, percentages, int32), sizes with units."""


@pytest.mark.parametrize("annotation", PARSED)
def test_edge_values_of_every_annotation_give_a_config_nginx_accepts(
    annotation: str, nginx_binary: str
) -> None:
    refused = []
    for value in EDGES:
        run = run_objects(all_objects(annotation_tenant(annotation, value)))
        nodes, problems = checked(run)
        assert not problems, f"{annotation}={value!r}: {problems}"
        assert server_block(nodes, VICTIM_HOST) == victim_reference()[0], annotation
        accepted, output = nginx_accepts(run)
        if not accepted:
            refused.append(f"{annotation}={value!r}: {output.strip()}")
    assert not refused, "\n".join(refused)


def _backend(kind: str) -> list[Obj]:
    """Service ``web``: with a ready endpoint (an upstream), with none ready (nginx answers
    503), without endpoint objects (its DNS name at request time), or of type ExternalName."""
    web = service("web")
    if kind == "dns":
        return [web]
    if kind == "external-name":
        web["spec"] = {"type": "ExternalName", "externalName": "ext.example.com",
                       "ports": [{"name": "http", "port": 80}]}  # fmt: skip
        return [web]
    endpoints: dict[str, Any] = {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": kind == "upstream"},
    }
    labels = {"kubernetes.io/service-name": "web"}
    return [web, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "default", "labels": labels},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}], "endpoints": [endpoints],
    }]  # fmt: skip


@pytest.mark.parametrize("kind", ["upstream", "none-ready", "dns", "external-name"])
def test_every_annotation_with_each_kind_of_backend_gives_a_config_nginx_accepts(
    kind: str, nginx_binary: str
) -> None:
    refused = []
    for name in (name for name in PARSED if not name.startswith("canary")):
        annotations = {f"{PREFIX}{key}": value for key, value in companions(name).items()}
        for value in valid_examples(name)[:3]:
            annotations[f"{PREFIX}{name}"] = value
            site = ingress("site", rules=[rule("site.test", path("/", to("web")),
                                                path("/x", to("web"), "Exact"))],
                           annotations=annotations)  # fmt: skip
            tls = [{"hosts": ["site.test"], "secretName": "missing"}]
            site["spec"].update(ingressClassName="nginx", tls=tls)
            run = run_objects([INGRESS_CLASS, *victim_objects(), site, *_backend(kind)])
            accepted, output = nginx_accepts(run)
            if not accepted:
                refused.append(f"{name}={value!r}: {output.strip().splitlines()[0]}")
    assert not refused, "\n".join(refused)
