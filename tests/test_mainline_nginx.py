"""The output for a current nginx, checked by a current nginx (not only Debian stable's 1.22).

``scripts/mainline-nginx.sh`` unpacks Debian unstable's nginx into a private folder and
``scripts/test.sh`` exports its wrapper as ``INGRESS2NGINX_MAINLINE_NGINX``. Rendered with
``--nginx-version`` set to that nginx's version, every golden must pass its ``nginx -t`` without
a warning (``http2 on;`` instead of the deprecated ``listen ... http2``), and HTTPS must
negotiate HTTP/2 through it. Without the variable these tests skip, or fail under
``INGRESS2NGINX_REQUIRE_NGINX=1`` (CI).
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to
from golden_cases import all_cases, args_of, render_case
from harness import LOOPBACK, REQUIRE_NGINX_ENV, free_port, request, require_nginx
from tls_secrets import tls_secret

MAINLINE_ENV = "INGRESS2NGINX_MAINLINE_NGINX"


def find_mainline_nginx() -> str:
    """The current nginx's path; skips (fails under INGRESS2NGINX_REQUIRE_NGINX=1) without."""
    binary = os.environ.get(MAINLINE_ENV)
    if binary:
        return require_nginx(binary)
    reason = f"{MAINLINE_ENV} is not set (scripts/test.sh sets it with scripts/mainline-nginx.sh)"
    if os.environ.get(REQUIRE_NGINX_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_NGINX_ENV}=1 requires it", pytrace=False)
    pytest.skip(reason)


def version_of(binary: str) -> str:
    """``X.Y.Z`` as ``nginx -v`` prints it."""
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True)
    found = re.search(r"nginx/(\d+\.\d+\.\d+)", result.stderr)
    assert found, f"no version in {result.stderr!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def mainline_nginx() -> str:
    return find_mainline_nginx()


@pytest.fixture(scope="module")
def mainline_version(mainline_nginx: str) -> str:
    return version_of(mainline_nginx)


def _cases_without_modules() -> list[Path]:
    """Goldens that load no dynamic module (a module must match the nginx that loads it)."""
    return [case for case in all_cases() if "--stream-module" not in args_of(case)]


def test_the_mainline_nginx_is_newer_than_what_reload_free_endpoints_need(
    mainline_version: str,
) -> None:
    assert tuple(int(part) for part in mainline_version.split(".")) >= (1, 27, 3)


@pytest.mark.parametrize("case", _cases_without_modules(), ids=lambda case: case.name)
def test_a_current_nginx_accepts_the_golden_rendered_for_it_without_warnings(
    case: Path, mainline_nginx: str, mainline_version: str, nginx_prefix: Path
) -> None:
    runtime = nginx_prefix / "run"
    runtime.mkdir()
    version = ["--nginx-version", mainline_version]
    rendered = render_case(case, runtime_dir=str(runtime), extra=version)
    config = nginx_prefix / "nginx.conf"
    config.write_text(rendered.config)
    checked = subprocess.run(
        [mainline_nginx, "-t", "-q", "-p", str(nginx_prefix), "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr


@pytest.fixture(scope="module")
def https_site(mainline_nginx: str, mainline_version: str) -> Iterator[tuple[Site, int]]:
    https_port = free_port()
    objects = [
        ingress("shop", rules=[rule("shop.test", path("/", to("shop")))]),
        tls_secret("default", "shop-tls", ["shop.test"]),
    ]
    objects[0]["spec"]["tls"] = [{"hosts": ["shop.test"], "secretName": "shop-tls"}]
    with started_backends("shop") as echo:
        objects.extend(echo_service(echo["shop"]))
        options = ("--https-port", str(https_port), "--nginx-version", mainline_version)
        with serving(objects, *options, binary=mainline_nginx) as served:
            yield served, https_port


def test_https_through_a_current_nginx_negotiates_http2(https_site: tuple[Site, int]) -> None:
    site, https_port = https_site
    assert "http2 on;" in site.rendered.config
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((LOOPBACK, https_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="shop.test") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"


def test_a_current_nginx_serves_the_backend_over_https(https_site: tuple[Site, int]) -> None:
    _, https_port = https_site
    response = request(https_port, "/", host="shop.test", tls=True)
    assert response.status == 200
    assert response.backend == "shop"
