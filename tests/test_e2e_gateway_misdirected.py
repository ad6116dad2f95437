"""Misdirected requests on Gateway API HTTPS listeners, through real nginx (1.22 and current).

A request whose Host belongs to another listener of the port than the one its SNI name
chose gets 421 Misdirected Request; one whose two names belong to the same listener is
served (a 404 where no route serves the name), and so is one sent without SNI. The
listener without hostname presents its certificate to every name no other listener holds.
On a port of its own without such a listener, a name no listener holds belongs to the
port's default server alone.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from e2e import Site, echo_service, serving, started_backends
from gateway_objects import backend_ref, gateway, http_route, listener, parent
from gateway_objects import route_rule as rule
from harness import LOOPBACK, Response, find_nginx, free_ports, request, require_nginx
from test_mainline_nginx import MAINLINE_ENV, find_mainline_nginx, version_of
from tls_secrets import tls_secret

SITE_NAMES = ["*.example.com", "shop.test", "default"]
OWN_NAMES = ["own.example.org"]


@pytest.fixture(scope="module", params=["nginx", MAINLINE_ENV])
def binary_and_flags(request: pytest.FixtureRequest) -> tuple[str, tuple[str, ...]]:
    """Debian's nginx as the suite runs it, and the current one with its own syntax."""
    if request.param == "nginx":
        return require_nginx(find_nginx()), ()
    mainline = find_mainline_nginx()
    return mainline, ("--nginx-version", version_of(mainline))


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    https, own = free_ports(2)
    return {"https": https, "own": own}


def _objects(own_port: int) -> list[dict[str, object]]:
    listeners = [
        listener("any", 443, secret="site-tls"),
        listener("wildcard", 443, hostname="*.example.com", secret="site-tls"),
        listener("precise", 443, hostname="api.example.com", secret="site-tls"),
        listener("keyword", 443, hostname="default", secret="site-tls"),
        listener("own", own_port, hostname="own.example.org", secret="own-tls"),
    ]
    hostnames = ["shop.test", "www.example.com", "api.example.com", "default"]
    return [
        gateway("edge", class_name="nginx", listeners=listeners),
        http_route("site", parents=[parent("edge", port=443)], hostnames=hostnames,
                   rules=[rule(None, [backend_ref("site")])]),
        http_route("own", parents=[parent("edge", section="own")],
                   rules=[rule(None, [backend_ref("own")])]),
        tls_secret("default", "site-tls", SITE_NAMES),
        tls_secret("default", "own-tls", OWN_NAMES),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def site(binary_and_flags: tuple[str, tuple[str, ...]], ports: dict[str, int]) -> Iterator[Site]:
    binary, flags = binary_and_flags
    with started_backends("site", "own") as echo:
        objects = [*_objects(ports["own"]), *echo_service(echo["site"]),
                   *echo_service(echo["own"])]  # fmt: skip
        with serving(objects, "--https-port", str(ports["https"]), *flags,
                     binary=binary) as served:  # fmt: skip
            yield served


def _answer(response: Response) -> str | int:
    if response.status == 200 and response.backend:
        return str(response.backend)
    assert response.backend is None, (response.status, response.backend)
    return int(response.status)


@pytest.mark.parametrize(
    ("server_name", "host", "expected"),
    [
        ("shop.test", "shop.test", "site"),
        ("unknown.test", "shop.test", "site"),  # both the listener without hostname's
        ("shop.test", "unknown.test", 404),
        ("www.example.com", "www.example.com", "site"),
        ("other.example.com", "www.example.com", "site"),  # both *.example.com's
        ("a.b.example.com", "www.example.com", "site"),
        ("API.example.com", "api.example.com", "site"),  # names are case-insensitive
        ("api.example.com", "api.example.com:443", "site"),
        ("default", "default", "site"),
        ("", "api.example.com", "site"),  # no SNI: nothing to compare with
        ("", "unknown.test", 404),
    ],
)
def test_a_request_whose_names_belong_to_one_listener_is_served(
    site: Site, ports: dict[str, int], server_name: str, host: str, expected: str | int
) -> None:
    response = request(ports["https"], "/", host=host, tls=True, server_name=server_name)
    assert _answer(response) == expected


@pytest.mark.parametrize(
    ("server_name", "host"),
    [
        ("shop.test", "www.example.com"),  # no hostname, then the wildcard's
        ("www.example.com", "shop.test"),
        ("www.example.com", "api.example.com"),  # the precise name is another listener
        ("api.example.com", "www.example.com"),
        ("api.example.com", "unknown.test"),  # the default server is the no-hostname one's
        ("example.com", "www.example.com"),  # *.example.com does not hold example.com
        ("default", "shop.test"),
        ("shop.test", "default"),
    ],
)
def test_a_request_whose_host_belongs_to_another_listener_gets_421(
    site: Site, ports: dict[str, int], server_name: str, host: str
) -> None:
    response = request(ports["https"], "/", host=host, tls=True, server_name=server_name)
    assert (response.status, response.backend) == (421, None)


def test_the_listener_without_hostname_presents_its_certificate_to_any_other_name(
    site: Site, ports: dict[str, int]
) -> None:
    for name in ("unknown.test", "example.com"):
        response = request(ports["https"], "/", host=name, tls=True)
        assert response.status == 404
        assert response.certificate is not None
        assert response.certificate.subject_alt_names == tuple(SITE_NAMES), name


def test_on_a_port_without_such_a_listener_an_unknown_name_belongs_to_no_listener(
    site: Site, ports: dict[str, int]
) -> None:
    own = ports["own"]
    assert _answer(request(own, "/", host="own.example.org", tls=True)) == "own"
    misdirected = request(own, "/", host="own.example.org", tls=True, server_name="x.test")
    assert (misdirected.status, misdirected.backend) == (421, None)
    unknown = request(own, "/", host="x.test", tls=True)
    assert _answer(unknown) == 404, "the default server takes the names of no listener"
    assert unknown.certificate is not None
    assert unknown.certificate.common_name == "ingress2nginx default certificate"
    aimed = request(own, "/", host="x.test", tls=True, server_name="own.example.org")
    assert (aimed.status, aimed.backend) == (421, None)


def _curl_http2(port: int, server_name: str, authority: str) -> tuple[str, str]:
    """(HTTP version, status) of an HTTP/2 request whose SNI is `server_name` and whose
    ``:authority`` is `authority` (curl sends the Host header as it)."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url = f"https://{server_name}:{port}/"
    answer = subprocess.run(
        [curl, "--silent", "--insecure", "--http2", "--max-time", "10",
         "--resolve", f"{server_name}:{port}:{LOOPBACK}", "--header", f"Host: {authority}",
         "--output", "/dev/null", "--write-out", "%{http_version} %{http_code}", url],
        capture_output=True, text=True, check=False, timeout=20,
    )  # fmt: skip
    version, _, status = answer.stdout.partition(" ")
    return version, status


def test_an_http2_request_for_another_listener_gets_421(site: Site, ports: dict[str, int]) -> None:
    """The case 421 exists for: an HTTP/2 client reusing a connection for another name."""
    assert _curl_http2(ports["https"], "www.example.com", "www.example.com") == ("2", "200")
    assert _curl_http2(ports["https"], "www.example.com", "shop.test") == ("2", "421")
