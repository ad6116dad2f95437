"""The end-to-end harness proves itself against the real nginx before other tests lean on it.

The configs here are written by hand, not rendered by the product: they show the minimal
runtime setup (everything under the prefix) that lets nginx run unprivileged on loopback.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from harness import (
    NGINX_BINARY_ENV,
    REQUIRE_NGINX_ENV,
    EchoBackend,
    EchoBackendFactory,
    NginxError,
    NginxRunner,
    find_nginx,
    free_port,
    free_ports,
    listen_endpoints,
    make_prefix,
    make_self_signed_cert,
    request,
    require_nginx,
    test_config,
    websocket_roundtrip,
)

RUNTIME = """\
pid nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    map $http_upgrade $connection_upgrade { default upgrade; "" close; }
%s
}
"""


def proxy_server(port: int, host: str, backend: EchoBackend, listen_extra: str = "") -> str:
    """A server block sending every request for ``host`` to ``backend`` over HTTP/1.1."""
    return f"""
    server {{
        listen 127.0.0.1:{port}{listen_extra};
        server_name {host};
        location / {{
            proxy_pass http://{backend.endpoint};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
    }}"""


def routing_conf(port: int, routes: dict[str, EchoBackend]) -> str:
    """An nginx.conf routing each Host of ``routes`` to its backend; others get a 404."""
    servers = [proxy_server(port, host, backend) for host, backend in routes.items()]
    default = f"server {{ listen 127.0.0.1:{port} default_server; return 404; }}"
    return RUNTIME % "\n".join([*servers, default])


# -- echo backends on their own


def test_echo_backend_describes_the_request_it_received(
    echo_backends: EchoBackendFactory,
) -> None:
    (api,) = echo_backends("api")
    answer = request(api.port, "/a/../b?x=1", host="example.test", headers={"X-Extra": "yes"})
    assert answer.status == 200
    assert answer.backend == "api"
    echoed = answer.json()
    assert echoed["path"] == "/a/../b?x=1"
    assert echoed["method"] == "GET"
    assert echoed["version"] == "HTTP/1.1"
    assert echoed["headers"]["host"] == "example.test"
    assert echoed["headers"]["x-extra"] == "yes"
    assert api.requests[0].path == "/a/../b?x=1"


def test_echo_backend_reads_chunked_bodies_and_any_method(
    echo_backends: EchoBackendFactory,
) -> None:
    (api,) = echo_backends("api")
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    answer = request(
        api.port, "/up", method="PURGE", headers={"Transfer-Encoding": "chunked"}, body=chunked
    )
    assert answer.json()["body"] == "hello world"
    assert answer.json()["method"] == "PURGE"


def test_many_echo_backends_start_at_once(echo_backends: EchoBackendFactory) -> None:
    backends = echo_backends(*(f"b{index}" for index in range(10)))
    assert len({backend.port for backend in backends}) == 10
    assert [request(b.port, "/").backend for b in backends] == [b.name for b in backends]


def test_websocket_echo_prefixes_the_backend_name(echo_backends: EchoBackendFactory) -> None:
    (chat,) = echo_backends("chat")
    assert websocket_roundtrip(chat.port, "/ws", "chat.test", "hi") == "chat: hi"
    assert chat.requests[0].websocket


# -- free ports


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert free_port() not in ports
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", ports[0]))


def test_listen_endpoints_finds_the_ports_to_wait_for() -> None:
    conf = (
        "listen 8080;\n listen 127.0.0.2:8443 ssl;\n# listen 9;\nlisten [::]:81;\nlisten unix:/s;"
    )
    assert listen_endpoints(conf) == [("127.0.0.1", 8080), ("127.0.0.2", 8443), ("::1", 81)]


# -- real nginx


def test_nginx_routes_each_host_to_its_backend(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    alpha, beta = echo_backends("alpha", "beta")
    port = free_port()
    nginx_runner(routing_conf(port, {"a.test": alpha, "b.test": beta}))
    assert request(port, "/", host="a.test").backend == "alpha"
    assert request(port, "/", host="B.test:8080").backend == "beta"
    unknown = request(port, "/", host="c.test")
    assert (unknown.status, unknown.backend) == (404, None)


@pytest.mark.parametrize("target", ["/foo/../x", "/FOO", "/foo?x=1&y=%2F", "//a", "/a%20b/"])
def test_nginx_passes_the_raw_request_target_unchanged(
    target: str, echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    (alpha,) = echo_backends("alpha")
    port = free_port()
    nginx_runner(routing_conf(port, {"a.test": alpha}))
    answer = request(port, target, host="a.test")
    assert answer.json()["path"] == target
    assert answer.json()["version"] == "HTTP/1.1"


def test_nginx_passes_a_post_body(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    (alpha,) = echo_backends("alpha")
    port = free_port()
    nginx_runner(routing_conf(port, {"a.test": alpha}))
    answer = request(port, "/submit", host="a.test", method="POST", body="name=ünïcode")
    assert answer.json()["method"] == "POST"
    assert answer.json()["body"] == "name=ünïcode"


def test_backends_serve_nginx_keepalive_and_streamed_chunked_bodies(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    (alpha,) = echo_backends("alpha")
    port = free_port()
    nginx_runner(
        RUNTIME
        % f"""
    upstream alpha {{ server {alpha.endpoint}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_request_buffering off;
        location / {{ proxy_pass http://alpha; }}
    }}"""
    )
    assert [request(port, f"/{n}").backend for n in range(3)] == ["alpha"] * 3
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        client.sendall(b"3\r\nabc\r\n")
        time.sleep(0.05)  # nginx forwards what it has: the backend sees a chunked body
        client.sendall(b"2\r\nde\r\n0\r\n\r\n")
        client.recv(65536)
    assert alpha.requests[-1].headers["transfer-encoding"] == "chunked"
    assert alpha.requests[-1].body == b"abcde"


def test_websocket_upgrade_passes_through_nginx(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    (chat,) = echo_backends("chat")
    port = free_port()
    nginx_runner(routing_conf(port, {"chat.test": chat}))
    assert websocket_roundtrip(port, "/socket", "chat.test", "ping") == "chat: ping"
    assert chat.requests[-1].headers["upgrade"] == "websocket"


def test_reload_changes_routing(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    alpha, beta = echo_backends("alpha", "beta")
    port = free_port()
    nginx = nginx_runner(routing_conf(port, {"a.test": alpha}))
    workers = nginx.worker_pids()
    nginx.reload(routing_conf(port, {"a.test": beta}))
    assert request(port, "/", host="a.test").backend == "beta"
    assert workers.isdisjoint(nginx.worker_pids())


def test_reload_with_a_broken_config_raises_and_keeps_serving(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    (alpha,) = echo_backends("alpha")
    port = free_port()
    nginx = nginx_runner(routing_conf(port, {"a.test": alpha}))
    with pytest.raises(NginxError, match="rejected"):
        nginx.reload(routing_conf(port, {"a.test": alpha}).replace("proxy_pass", "proxy_pas"))
    assert request(port, "/", host="a.test").backend == "alpha"


def test_tls_sni_selects_the_certificate_of_the_host(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner
) -> None:
    alpha, beta = echo_backends("alpha", "beta")
    port = free_port()
    servers: list[str] = []
    files: dict[str, bytes] = {}
    for host, backend in (("a.test", alpha), ("b.test", beta)):
        pair = make_self_signed_cert(host)
        files |= {f"certs/{host}.crt": pair.cert_pem, f"certs/{host}.key": pair.key_pem}
        tls = f" ssl;\n        ssl_certificate certs/{host}.crt;\n"
        tls += f"        ssl_certificate_key certs/{host}.key"
        servers.append(proxy_server(port, host, backend, tls))
    nginx_runner(RUNTIME % "\n".join(servers), files=files)
    for host, name in (("a.test", "alpha"), ("b.test", "beta")):
        answer = request(port, "/", host=host, tls=True)
        assert answer.certificate is not None
        assert answer.certificate.subject_alt_names == (host,)
        assert answer.backend == name
    no_sni = request(port, "/", host="b.test", tls=True, server_name="")
    assert no_sni.certificate is not None
    assert no_sni.certificate.subject_alt_names == ("a.test",)  # the first server: default


def test_workers_can_use_temp_files_under_the_prefix(
    echo_backends: EchoBackendFactory, nginx_runner: NginxRunner, nginx_prefix: Path
) -> None:
    (alpha,) = echo_backends("alpha")
    port = free_port()
    nginx_runner(routing_conf(port, {"a.test": alpha}), prefix=nginx_prefix)
    body = "x" * 100_000  # over client_body_buffer_size: buffered to client_body_temp
    answer = request(port, "/", host="a.test", method="POST", body=body)
    assert (answer.status, len(answer.json()["body"])) == (200, len(body))


def test_a_prefix_workers_cannot_traverse_is_warned_about(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("workers only switch to nobody when nginx runs as root")
    with pytest.warns(UserWarning, match="cannot traverse"):
        make_prefix(tmp_path / "prefix")


def test_nginx_that_cannot_start_raises_with_its_own_messages(nginx_runner: NginxRunner) -> None:
    with pytest.raises(NginxError, match="unknown directive"):
        nginx_runner(RUNTIME % "bogus_directive on;")


def test_test_config_reports_what_nginx_says(nginx_binary: str) -> None:
    ok, output = test_config(RUNTIME % "", binary=nginx_binary)
    assert ok, output
    ok, output = test_config(RUNTIME % "bogus_directive on;", binary=nginx_binary)
    assert not ok
    assert 'unknown directive "bogus_directive"' in output


# -- the skip/fail policy


def test_missing_nginx_skips_the_test_by_default() -> None:
    with pytest.raises(pytest.skip.Exception, match="not found"):
        require_nginx("/nonexistent/nginx", environ={})


def test_missing_nginx_fails_the_test_when_ci_requires_it() -> None:
    with pytest.raises(pytest.fail.Exception, match=REQUIRE_NGINX_ENV):
        require_nginx(None, environ={REQUIRE_NGINX_ENV: "1"})


def test_the_nginx_binary_can_be_chosen_by_environment() -> None:
    assert find_nginx({NGINX_BINARY_ENV: "/opt/nginx/sbin/nginx"}) == "/opt/nginx/sbin/nginx"


def test_present_nginx_is_returned(nginx_binary: str) -> None:
    assert require_nginx(nginx_binary, environ={REQUIRE_NGINX_ENV: "1"}) == nginx_binary
