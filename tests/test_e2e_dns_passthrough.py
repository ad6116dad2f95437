"""ssl-passthrough in dns mode, through a current nginx and its own stream module: the stream
upstream of a passthrough host is resolved from the sidecar's responder too (nginx's stream
module has ``server ... resolve``), and follows an endpoint change with no reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import endpoint_slice, ingress, path, rule, service, to
from harness import free_port
from test_e2e_dns_mode import dns_site, mainline_nginx, mainline_version  # noqa: F401
from tls_backends import TLSEchoBackend, https_request, stream_module_arguments

PASSTHROUGH = {"nginx.ingress.kubernetes.io/ssl-passthrough": "true"}


@pytest.fixture(scope="module")
def mainline_stream_module(mainline_nginx: str) -> list[str]:  # noqa: F811 - the fixture
    """The stream module of the current nginx (scripts/mainline-nginx.sh unpacks it beside
    its nginx), as ``--stream-module``; skips when it cannot be loaded."""
    module = Path(mainline_nginx).parent.parent / "root/usr/lib/nginx/modules/ngx_stream_module.so"
    arguments, reason = stream_module_arguments(mainline_nginx)
    if arguments is None and module.exists():
        arguments = ["--stream-module", str(module)]
    if arguments is None:
        pytest.skip(f"ssl-passthrough needs the current nginx's stream module: {reason}")
    return arguments


@pytest.fixture
def vaults() -> Iterator[tuple[TLSEchoBackend, TLSEchoBackend]]:
    with (
        TLSEchoBackend("vault", "vault.test") as one,
        TLSEchoBackend("vault-2", "vault.test") as two,
    ):
        yield one, two


def test_a_passthrough_upstream_is_resolved_and_follows_an_endpoint_change(
    mainline_nginx: str,  # noqa: F811 - the fixture
    mainline_version: str,  # noqa: F811 - the fixture
    mainline_stream_module: list[str],
    vaults: tuple[TLSEchoBackend, TLSEchoBackend],
) -> None:
    one, two = vaults
    https_port = free_port()
    objects = [
        ingress(
            "vault", rules=[rule("vault.test", path("/", to("vault")))], annotations=PASSTHROUGH
        ),
        service("vault"),
        endpoint_slice("vault", one, slice_name="vault-1"),
    ]
    options = ["--https-port", str(https_port), "--enable-ssl-passthrough"]
    options += ["--ssl-passthrough-proxy-port", str(free_port())]
    options += ["--ssl-passthrough-relay-port", str(free_port()), *mainline_stream_module]
    with dns_site(objects, mainline_nginx, mainline_version, *options) as site:
        config = site.site.rendered.config
        assert "zone ingress2nginx_stream_upstreams 2m;" in config
        assert config.count("server vault.default.svc.cluster.local service=_80._tcp resolve;") == 2
        pids = site.pids()
        assert https_request(https_port, "vault.test").backend == "vault"
        site.feed([service("vault"), endpoint_slice("vault", two, slice_name="vault-1")])
        site.wait(lambda: https_request(https_port, "vault.test").backend == "vault-2")
        assert site.pids() == pids
