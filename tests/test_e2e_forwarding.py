"""Global options for what sits in front of nginx, through real nginx: forwarded headers
trusted or not, the full X-Forwarded-For chain, the PROXY protocol, the access log format."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e import Site, echo_service, ingress, path, rule, serving, started_backends, to
from harness import LOOPBACK

SPOOFED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5",
           "X-Forwarded-Host": "public.example.com", "X-Forwarded-Port": "8443"}  # fmt: skip


def site_with(tmp_path: Path, nginx_binary: str, options: dict[str, str]) -> Iterator[Site]:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(options))
    with started_backends("web") as echo:
        objects = [ingress("web", rules=[rule("web.test", path("/", to("web")))]),
                   *echo_service(echo["web"])]  # fmt: skip
        with serving(objects, "--config", str(config), binary=nginx_binary) as served:
            yield served


@pytest.fixture
def default_site(tmp_path: Path, nginx_binary: str) -> Iterator[Site]:
    yield from site_with(tmp_path, nginx_binary, {})


@pytest.fixture
def trusting_site(tmp_path: Path, nginx_binary: str) -> Iterator[Site]:
    options = {"use-forwarded-headers": "true", "compute-full-forwarded-for": "true",
               "proxy-real-ip-cidr": "127.0.0.0/8"}  # fmt: skip
    yield from site_with(tmp_path, nginx_binary, options)


def test_by_default_a_client_cannot_claim_another_address_or_scheme(default_site: Site) -> None:
    headers = default_site.get("/", "web.test", headers=SPOOFED).json()["headers"]
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "web.test"
    assert headers["x-original-forwarded-for"] == "203.0.113.5"


def test_by_default_the_backend_is_told_the_published_port_not_nginx_s_own(
    default_site: Site,
) -> None:
    headers = default_site.get("/", "web.test", headers=SPOOFED).json()["headers"]
    assert default_site.port != 80
    assert headers["x-forwarded-port"] == "80"
    assert headers["x-original-forwarded-host"] == "public.example.com"


def test_the_published_ports_are_options(tmp_path: Path, nginx_binary: str) -> None:
    with started_backends("web") as echo:
        objects = [ingress("web", rules=[rule("web.test", path("/", to("web")))]),
                   *echo_service(echo["web"])]  # fmt: skip
        published = ("--published-http-port", "8080", "--published-https-port", "8443")
        with serving(objects, *published, binary=nginx_binary) as site:
            headers = site.get("/", "web.test").json()["headers"]
    assert headers["x-forwarded-port"] == "8080"


def test_the_client_s_own_request_id_is_passed_on(default_site: Site) -> None:
    sent = {"X-Request-ID": "trace-0123-abcd"}
    assert default_site.get("/", "web.test", headers=sent).json()["headers"]["x-request-id"] == (
        "trace-0123-abcd"
    )


def test_a_request_id_is_generated_only_when_the_client_sent_none(default_site: Site) -> None:
    first, second = (
        default_site.get("/", "web.test").json()["headers"]["x-request-id"] for _ in range(2)
    )
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_the_access_log_names_the_request_id_the_backend_got(default_site: Site) -> None:
    default_site.get("/logged", "web.test", headers={"X-Request-ID": "logged-id-42"})
    deadline = time.monotonic() + 5
    while "logged-id-42" not in default_site.nginx.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in default_site.nginx.stderr.splitlines() if "/logged" in line)
    assert line.endswith(" logged-id-42")


def test_behind_a_trusted_proxy_its_forwarded_headers_are_passed_on(trusting_site: Site) -> None:
    headers = trusting_site.get("/", "web.test", headers=SPOOFED).json()["headers"]
    assert headers["x-real-ip"] == "203.0.113.5"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == "public.example.com"
    assert headers["x-forwarded-port"] == "8443"


def test_behind_a_trusted_proxy_the_first_forwarded_host_is_the_host(
    trusting_site: Site,
) -> None:
    listed = {"X-Forwarded-Host": "myhost.com, another.host,example.net"}
    headers = trusting_site.get("/", "web.test", headers=listed).json()["headers"]
    assert headers["host"] == "myhost.com"
    assert headers["x-forwarded-host"] == "myhost.com"
    assert headers["x-original-forwarded-host"] == "myhost.com, another.host,example.net"


def test_behind_a_trusted_proxy_without_forwarded_headers_the_client_s_own_are_used(
    trusting_site: Site,
) -> None:
    headers = trusting_site.get("/", "web.test").json()["headers"]
    assert (headers["host"], headers["x-forwarded-host"]) == ("web.test", "web.test")
    assert (headers["x-forwarded-proto"], headers["x-forwarded-port"]) == ("http", "80")


def test_compute_full_forwarded_for_appends_the_peer(trusting_site: Site) -> None:
    headers = trusting_site.get("/", "web.test", headers=SPOOFED).json()["headers"]
    assert headers["x-forwarded-for"] == "203.0.113.5, 127.0.0.1"


def test_the_proxy_protocol_gives_the_client_address_and_a_custom_log_line(
    tmp_path: Path, nginx_binary: str
) -> None:
    options = {"use-proxy-protocol": "true", "proxy-real-ip-cidr": "127.0.0.1/32",
               "log-format-upstream": "FROM=$remote_addr METHOD=$request_method URI=$uri",
               }  # fmt: skip
    for site in site_with(tmp_path, nginx_binary, options):
        with socket.create_connection((LOOPBACK, site.port), timeout=5) as connection:
            connection.sendall(
                b"PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\n"
                b"GET /via-proxy HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(body)["headers"]["x-real-ip"] == "198.51.100.7"
        deadline = time.monotonic() + 5
        while "URI=/via-proxy" not in site.nginx.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "FROM=198.51.100.7 METHOD=GET URI=/via-proxy" in site.nginx.stderr


def test_behind_a_tls_terminating_proxy_https_requests_are_not_redirected(
    tmp_path: Path, nginx_binary: str
) -> None:
    from tls_secrets import tls_secret

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"use-forwarded-headers": "true"}))
    with started_backends("web") as echo:
        web = ingress("web", rules=[rule("web.test", path("/", to("web")))])
        web["spec"]["tls"] = [{"hosts": ["web.test"], "secretName": "web-tls"}]  # type: ignore[index]
        objects = [web, tls_secret("default", "web-tls", ["web.test"]), *echo_service(echo["web"])]
        with serving(objects, "--config", str(config), binary=nginx_binary) as site:
            assert site.get("/a", "web.test").status == 308
            forwarded = site.get("/a", "web.test", headers={"X-Forwarded-Proto": "https"})
            assert (forwarded.status, forwarded.backend) == (200, "web")


def test_behind_a_trusted_proxy_the_https_redirect_goes_to_the_forwarded_host(
    tmp_path: Path, nginx_binary: str
) -> None:
    from tls_secrets import tls_secret

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"use-forwarded-headers": "true"}))
    with started_backends("web") as echo:
        web = ingress("web", rules=[rule("web.test", path("/", to("web")))])
        web["spec"]["tls"] = [{"hosts": ["web.test"], "secretName": "web-tls"}]  # type: ignore[index]
        objects = [web, tls_secret("default", "web-tls", ["web.test"]), *echo_service(echo["web"])]
        with serving(objects, "--config", str(config), binary=nginx_binary) as site:
            listed = {"X-Forwarded-Host": "public.example.com:8080, inner.example.com"}
            redirect = site.get("/a?b=c", "web.test", headers=listed)
            plain = site.get("/a?b=c", "web.test")
    assert redirect.status == 308
    assert redirect.headers["Location"] == "https://public.example.com/a?b=c"
    assert plain.headers["Location"] == "https://web.test/a?b=c"
