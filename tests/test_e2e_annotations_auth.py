"""Authentication annotations proven through real nginx: basic auth from htpasswd Secrets,
external auth through auth_request, HTTPS backends checked against a CA from a Secret, and
client certificates checked against a CA from a Secret.

Whatever is wrong with an authentication setting denies the Ingress's paths (503); it never
lets a request through, nor hands the paths to another Ingress. Paths listed by the global
no-auth-locations (ACME challenges by default) ask for no authentication, as in ingress-nginx.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from auth_helpers import (
    AuthService,
    CertificateAuthority,
    TlsEchoBackend,
    basic_credentials,
    crypt_hash,
    openssl_hash,
    secret,
    serving_readable,
    sha_hash,
    ssha_hash,
    tls_get,
)
from e2e import Site, echo_service, ingress, path, rule, started_backends, to
from harness import CertificatePair, free_port
from tls_secrets import tls_secret

PREFIX = "nginx.ingress.kubernetes.io/"


def annotated(**values: str) -> dict[str, str]:
    return {PREFIX + name.replace("_", "-"): value for name, value in values.items()}


# --------------------------------------------------------------------------- basic auth

PASSWORDS = {
    "apr1-user": ("apr1-pass", lambda p: openssl_hash("apr1", p)),
    "md5-user": ("md5-pass", lambda p: openssl_hash("1", p)),
    "sha256-user": ("sha256-pass", lambda p: openssl_hash("5", p)),
    "sha512-user": ("sha512-pass", lambda p: openssl_hash("6", p)),
    "sha-user": ("sha-pass", sha_hash),
    "ssha-user": ("ssha-pass", ssha_hash),
    "plain-user": ("plain-pass", lambda p: "{PLAIN}" + p),
    "bcrypt-user": ("bcrypt-pass", lambda p: crypt_hash(p, "$2b$05$abcdefghijklmnopqrstuu")),
    "yescrypt-user": ("yescrypt-pass", lambda p: crypt_hash(p, "$y$j9T$abcdefghijklmnop$")),
}
"""One user per password format; bcrypt and yescrypt only where this system's crypt() makes
them (nginx checks them with the same crypt())."""


def htpasswd() -> str:
    lines = ["# one user per hash format", ""]
    for user, (password, make) in PASSWORDS.items():
        hashed = make(password)
        if hashed is not None:
            lines.append(f"{user}:{hashed}")
    return "\r\n".join(lines) + "\n"


def basic_objects() -> list[dict[str, object]]:
    return [
        secret("staff", {"auth": htpasswd()}),
        secret("staff-map", {"carol": openssl_hash("apr1", "carol-pass")}),
        secret("broken", {"auth": "alice\n"}),
        secret("elsewhere", {"auth": f"dave:{sha_hash('dave-pass')}\n"}, namespace="other"),
        ingress(
            "staff",
            rules=[rule("basic.test", path("/", to("app")))],
            annotations=annotated(auth_type="basic", auth_secret="staff", auth_realm="Staff only"),
        ),
        ingress(
            "mapped",
            rules=[rule("map.test", path("/", to("app")))],
            annotations=annotated(
                auth_type="basic", auth_secret="default/staff-map", auth_secret_type="auth-map"
            ),
        ),
        ingress("public", rules=[rule("split.test", path("/", to("app")))]),
        *(
            ingress(
                name,
                rules=[rule("split.test", path(f"/{name}", to("app")))],
                annotations=annotated(auth_type=kind, auth_secret=reference),
            )
            for name, kind, reference in (
                ("missing", "basic", "nowhere"),
                ("broken", "basic", "broken"),
                ("cross", "basic", "other/elsewhere"),
                ("digest", "digest", "staff"),
            )
        ),
    ]


@pytest.fixture(scope="module")
def basic_site(nginx_binary: str) -> Iterator[Site]:
    with started_backends("app") as echo:
        objects = [*basic_objects(), *echo_service(echo["app"])]
        with serving_readable(objects, binary=nginx_binary) as served:
            yield served


def test_basic_auth_asks_for_credentials_in_the_realm(basic_site: Site) -> None:
    response = basic_site.get("/", host="basic.test")
    assert response.status == 401
    assert response.backend is None
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Staff only"'


def test_basic_auth_refuses_a_wrong_password_and_an_unknown_user(basic_site: Site) -> None:
    for user, password in (("apr1-user", "wrong"), ("nobody", "apr1-pass")):
        response = basic_site.get("/", host="basic.test", headers=basic_credentials(user, password))
        assert response.status == 401


@pytest.mark.parametrize("user", sorted(PASSWORDS))
def test_every_hash_format_nginx_reads_lets_its_user_in(basic_site: Site, user: str) -> None:
    password, make = PASSWORDS[user]
    if make(password) is None:
        pytest.skip(f"this system's crypt() cannot make a {user.split('-')[0]} hash")
    response = basic_site.get("/x", host="basic.test", headers=basic_credentials(user, password))
    assert (response.status, response.backend) == (200, "app")


def test_the_backend_never_sees_the_credentials(basic_site: Site) -> None:
    credentials = basic_credentials("sha-user", "sha-pass")
    headers = basic_site.get("/", host="basic.test", headers=credentials).json()["headers"]
    assert "authorization" not in headers
    assert headers["x-forwarded-host"] == "basic.test"


def test_an_auth_map_secret_holds_one_user_per_key(basic_site: Site) -> None:
    right = basic_credentials("carol", "carol-pass")
    assert basic_site.get("/", host="map.test", headers=right).backend == "app"
    wrong = basic_credentials("carol", "nope")
    assert basic_site.get("/", host="map.test", headers=wrong).status == 401


def test_the_realm_is_empty_by_default(basic_site: Site) -> None:
    response = basic_site.get("/", host="map.test")
    assert response.headers["WWW-Authenticate"] == 'Basic realm=""'


@pytest.mark.parametrize("name", ["missing", "broken", "cross", "digest"])
def test_an_unusable_auth_setting_denies_the_paths_instead_of_opening_them(
    basic_site: Site, name: str
) -> None:
    response = basic_site.get(f"/{name}/page", host="split.test")
    assert (response.status, response.backend) == (503, None)
    assert basic_site.served_by("/other", "split.test") == "app"


def test_each_denial_names_the_ingress_and_the_annotation(basic_site: Site) -> None:
    messages = basic_site.messages
    for name, annotation, reason in (
        ("missing", "auth-secret", "Secret default/nowhere is not in the input"),
        ("broken", "auth-secret", "line 1 of the auth key: it is not user:hash"),
        ("cross", "auth-secret", "another namespace"),
        ("digest", "auth-type", "digest authentication needs a third-party nginx module"),
    ):
        line = next(line for line in messages.splitlines() if f"default/{name}:" in line)
        assert f"[{PREFIX}{annotation}]" in line and reason in line, line
        assert "answers 503" in line


# --------------------------------------------------------------------------- external auth


@pytest.fixture(scope="module")
def auth_service() -> Iterator[AuthService]:
    with AuthService() as service:
        yield service


@pytest.fixture(scope="module")
def external_site(nginx_binary: str, auth_service: AuthService) -> Iterator[Site]:
    verify = f"{auth_service.url}/verify?app=shop"
    closed = f"http://127.0.0.1:{free_port()}/verify"
    objects = [
        ingress(
            "checked",
            rules=[rule("ext.test", path("/", to("app")))],
            annotations=annotated(
                auth_url=verify, auth_response_headers="X-Auth-User, X-Auth-Email"
            ),
        ),
        ingress(
            "signin",
            rules=[rule("signin.test", path("/", to("app")))],
            annotations=annotated(
                auth_url=verify, auth_signin="https://login.example.com/start?theme=dark"
            ),
        ),
        ingress(
            "posted",
            rules=[rule("method.test", path("/", to("app")))],
            annotations=annotated(
                auth_url=verify, auth_method="POST", auth_request_redirect="/landing"
            ),
        ),
        ingress(
            "cached",
            rules=[rule("cache.test", path("/", to("app")))],
            annotations=annotated(
                auth_url=f"{auth_service.url}/cached",
                auth_cache_key="$http_x_token",
                auth_cache_duration="200 10m",
            ),
        ),
        ingress(
            "unreachable",
            rules=[rule("down.test", path("/", to("app")))],
            annotations=annotated(auth_url=closed),
        ),
        ingress(
            "invalid",
            rules=[rule("invalid.test", path("/", to("app")))],
            annotations=annotated(auth_url="http://auth.test/$request_body"),
        ),
    ]
    with started_backends("app") as echo:
        objects.extend(echo_service(echo["app"]))
        with serving_readable(objects, binary=nginx_binary) as served:
            yield served


GOOD = {"X-Token": "good"}


def test_a_request_the_auth_service_allows_reaches_the_backend(external_site: Site) -> None:
    response = external_site.get("/orders?id=7", host="ext.test", headers=GOOD)
    assert (response.status, response.backend) == (200, "app")
    assert response.json()["path"] == "/orders?id=7"


def test_the_auth_service_answer_decides_401_and_403(external_site: Site) -> None:
    refused = external_site.get("/", host="ext.test")
    assert (refused.status, refused.backend) == (401, None)
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="test"'
    forbidden = external_site.get("/", host="ext.test", headers={"X-Token": "forbidden"})
    assert (forbidden.status, forbidden.backend) == (403, None)


def test_the_auth_service_learns_the_original_request_without_its_body(
    external_site: Site, auth_service: AuthService
) -> None:
    auth_service.requests.clear()
    external_site.get("/cart?step=2", host="ext.test", method="PUT", headers=GOOD, body="secret")
    seen = auth_service.requests[-1]
    assert seen["path"] == "/verify?app=shop"
    assert seen["body"] == b""
    headers = seen["headers"]
    assert headers["x-original-uri"] == "/cart?step=2"
    assert headers["x-original-method"] == "PUT"
    assert headers["x-original-url"] == "http://ext.test/cart?step=2"
    assert headers["x-auth-request-redirect"] == "/cart?step=2"
    assert headers["x-token"] == "good"
    assert headers["host"] == "127.0.0.1"


def test_the_auth_service_and_the_backend_see_the_client_s_request_id(
    external_site: Site, auth_service: AuthService
) -> None:
    auth_service.requests.clear()
    sent = {**GOOD, "X-Request-ID": "auth-trace-1"}
    answer = external_site.get("/", host="ext.test", headers=sent)
    assert answer.status == 200
    assert auth_service.requests[-1]["headers"]["x-request-id"] == "auth-trace-1"
    assert answer.json()["headers"]["x-request-id"] == "auth-trace-1"


def test_auth_response_headers_reach_the_backend_and_cannot_be_forged(
    external_site: Site,
) -> None:
    forged = {**GOOD, "X-Auth-User": "mallory"}
    headers = external_site.get("/", host="ext.test", headers=forged).json()["headers"]
    assert headers["x-auth-user"] == "alice"
    assert headers["x-auth-email"] == "alice@example.com"
    assert headers["x-forwarded-host"] == "ext.test"


def test_the_auth_service_cookie_reaches_the_client(external_site: Site) -> None:
    response = external_site.get("/", host="ext.test", headers=GOOD)
    assert response.headers["Set-Cookie"] == "auth_session=fresh; Path=/"


def test_auth_signin_redirects_a_401_with_the_original_url(external_site: Site) -> None:
    response = external_site.get("/account/orders?page=2", host="signin.test")
    assert response.status == 302
    assert response.headers["Location"] == (
        "https://login.example.com/start?theme=dark&rd=http://signin.test/account/orders?page=2"
    )
    assert external_site.get("/", host="signin.test", headers=GOOD).backend == "app"


def test_auth_method_and_auth_request_redirect_shape_the_auth_request(
    external_site: Site, auth_service: AuthService
) -> None:
    auth_service.requests.clear()
    assert external_site.get("/x", host="method.test", headers=GOOD).backend == "app"
    seen = auth_service.requests[-1]
    assert seen["method"] == "POST"
    assert seen["headers"]["x-auth-request-redirect"] == "/landing"


def test_auth_cache_key_answers_repeated_requests_from_the_cache(
    external_site: Site, auth_service: AuthService
) -> None:
    auth_service.requests.clear()
    for _ in range(3):
        assert external_site.get("/x", host="cache.test", headers=GOOD).backend == "app"
    assert external_site.get("/x", host="cache.test").status == 401
    cached = [seen for seen in auth_service.requests if seen["path"] == "/cached"]
    assert [seen["headers"].get("x-token") for seen in cached] == ["good", None]


def test_an_unreachable_auth_service_is_an_error_never_a_pass(external_site: Site) -> None:
    response = external_site.get("/", host="down.test", headers=GOOD)
    assert (response.status, response.backend) == (500, None)


def test_an_invalid_auth_url_denies_the_paths(external_site: Site) -> None:
    response = external_site.get("/", host="invalid.test", headers=GOOD)
    assert (response.status, response.backend) == (503, None)
    assert "$request_body is not one of the variables allowed here" in external_site.messages


# --------------------------------------------------------------------------- HTTPS backends


@pytest.fixture(scope="module")
def backend_tls_site(nginx_binary: str) -> Iterator[Site]:
    trusted, stranger = CertificateAuthority("backend CA"), CertificateAuthority("other CA")
    server = trusted.issue("backend.internal")
    client = trusted.issue("nginx-client", client=True)
    https = {"backend_protocol": "HTTPS", "proxy_ssl_name": "backend.internal"}
    objects = [
        secret("backend-ca", {"ca.crt": trusted.pem}),
        secret("stranger-ca", {"ca.crt": stranger.pem}),
        secret(
            "client-pair",
            {"ca.crt": trusted.pem, "tls.crt": client.cert_pem, "tls.key": client.key_pem},
            kind="kubernetes.io/tls",
        ),
    ]
    for name, backend, reference, verify in (
        ("verified", "secure", "default/backend-ca", "on"),
        ("wrong-ca", "secure", "default/stranger-ca", "on"),
        ("unverified", "secure", "default/stranger-ca", "off"),
        ("mutual", "mutual", "default/client-pair", "on"),
        ("anonymous", "mutual", "default/backend-ca", "on"),
    ):
        annotations = annotated(**https, proxy_ssl_secret=reference, proxy_ssl_verify=verify)
        objects.append(
            ingress(name, rules=[rule(f"{name}.test", path("/", to(backend)))],
                    annotations=annotations)
        )  # fmt: skip
    objects.append(
        ingress(
            "verify-without-ca",
            rules=[rule("no-ca.test", path("/", to("secure")))],
            annotations=annotated(
                **https, proxy_ssl_secret="default/client-only", proxy_ssl_verify="on"
            ),
        )
    )
    objects.append(secret("client-only", {"tls.crt": client.cert_pem, "tls.key": client.key_pem}))
    with (
        TlsEchoBackend("secure", server) as secure,
        TlsEchoBackend("mutual", server, client_ca=trusted.pem) as mutual,
    ):
        objects += [*echo_service(secure), *echo_service(mutual)]
        with serving_readable(objects, binary=nginx_binary) as served:
            yield served


def test_an_https_backend_whose_certificate_the_secret_ca_signed_is_reached(
    backend_tls_site: Site,
) -> None:
    response = backend_tls_site.get("/hello", host="verified.test")
    assert (response.status, response.backend) == (200, "secure")


def test_an_https_backend_signed_by_another_ca_is_refused(backend_tls_site: Site) -> None:
    response = backend_tls_site.get("/hello", host="wrong-ca.test")
    assert (response.status, response.backend) == (502, None)


def test_without_proxy_ssl_verify_the_backend_certificate_is_not_checked(
    backend_tls_site: Site,
) -> None:
    assert backend_tls_site.get("/", host="unverified.test").backend == "secure"


def test_the_client_certificate_from_the_secret_is_presented_to_the_backend(
    backend_tls_site: Site,
) -> None:
    assert backend_tls_site.get("/", host="mutual.test").backend == "mutual"
    refused = backend_tls_site.get("/", host="anonymous.test")
    assert (refused.status, refused.backend) == (502, None)


def test_proxy_ssl_verify_without_a_ca_denies_the_paths(backend_tls_site: Site) -> None:
    response = backend_tls_site.get("/", host="no-ca.test")
    assert (response.status, response.backend) == (503, None)
    assert "on needs ca.crt, which Secret default/client-only lacks" in backend_tls_site.messages


# --------------------------------------------------------------------------- client certificates


@pytest.fixture(scope="module")
def clients() -> dict[str, CertificatePair]:
    trusted, stranger = CertificateAuthority("client CA"), CertificateAuthority("other CA")
    return {
        "ca": CertificatePair(trusted.pem, b""),
        "alice": trusted.issue("alice", client=True),
        "mallory": trusted.issue("mallory", client=True),
        "stranger": stranger.issue("alice", client=True),
    }


@pytest.fixture(scope="module")
def client_tls_site(
    nginx_binary: str, clients: dict[str, CertificatePair]
) -> Iterator[tuple[Site, int]]:
    hosts = ["mtls.test", "optional.test", "broken.test"]
    objects = [
        tls_secret("default", "site-tls", hosts),
        secret("client-ca", {"ca.crt": clients["ca"].cert_pem}),
    ]
    for name, host, wanted in (
        ("strict", "mtls.test", annotated(
            auth_tls_secret="default/client-ca",
            auth_tls_match_cn="CN=(alice|bob)",
            auth_tls_pass_certificate_to_upstream="true",
        )),
        ("optional", "optional.test", annotated(
            auth_tls_secret="client-ca", auth_tls_verify_client="optional"
        )),
        ("broken", "broken.test", annotated(auth_tls_secret="no-such-secret")),
    ):  # fmt: skip
        objects.append(ingress(name, rules=[rule(host, path("/", to("app")))], annotations=wanted))
    objects.append(
        ingress("also-on-broken", rules=[rule("broken.test", path("/other", to("app")))])
    )
    for item in objects:
        if item.get("kind") == "Ingress":
            item["spec"]["tls"] = [{"hosts": [item["spec"]["rules"][0]["host"]],
                                    "secretName": "site-tls"}]  # fmt: skip
    https = free_port()
    with started_backends("app") as echo:
        objects.extend(echo_service(echo["app"]))
        with serving_readable(objects, "--published-https-port", str(https),
                              binary=nginx_binary, https_port=https) as served:  # fmt: skip
            yield served, https


def test_a_client_certificate_from_the_ca_is_let_through_and_described_to_the_backend(
    client_tls_site: tuple[Site, int], clients: dict[str, CertificatePair]
) -> None:
    _, https = client_tls_site
    answer = tls_get(https, "/", "mtls.test", client=clients["alice"])
    assert answer.status == 200
    headers = answer.json()["headers"]
    assert headers["ssl-client-verify"] == "SUCCESS"
    assert headers["ssl-client-subject-dn"] == "CN=alice"
    assert headers["ssl-client-issuer-dn"] == "CN=client CA"
    assert headers["ssl-client-cert"].startswith("-----BEGIN%20CERTIFICATE-----")


def test_without_a_certificate_or_with_another_cas_the_request_is_refused(
    client_tls_site: tuple[Site, int], clients: dict[str, CertificatePair]
) -> None:
    _, https = client_tls_site
    assert tls_get(https, "/", "mtls.test").status == 400
    assert tls_get(https, "/", "mtls.test", client=clients["stranger"]).status == 400


def test_auth_tls_match_cn_refuses_other_subjects(
    client_tls_site: tuple[Site, int], clients: dict[str, CertificatePair]
) -> None:
    _, https = client_tls_site
    assert tls_get(https, "/", "mtls.test", client=clients["mallory"]).status == 403


def test_plain_http_cannot_skip_the_client_certificate(client_tls_site: tuple[Site, int]) -> None:
    site, https = client_tls_site
    response = site.get("/page", host="mtls.test")
    assert (response.status, response.backend) == (308, None)
    assert response.headers["Location"] == f"https://mtls.test:{https}/page"


def test_optional_verification_lets_clients_without_certificates_through_and_says_so(
    client_tls_site: tuple[Site, int],
) -> None:
    _, https = client_tls_site
    forged = {"ssl-client-verify": "SUCCESS", "ssl-client-subject-dn": "CN=alice"}
    answer = tls_get(https, "/", "optional.test", headers=forged)
    assert answer.status == 200
    headers = answer.json()["headers"]
    assert headers["ssl-client-verify"] == "NONE"
    assert "ssl-client-subject-dn" not in headers


def test_a_broken_auth_tls_setting_denies_the_whole_host(client_tls_site: tuple[Site, int]) -> None:
    site, https = client_tls_site
    for target in ("/", "/other"):
        assert tls_get(https, target, "broken.test").status == 503
        assert site.get(target, host="broken.test").status == 503
    assert "Secret default/no-such-secret is not in the input" in site.messages


# --------------------------------------------------------------------------- no-auth-locations

ACME = "/.well-known/acme-challenge"


def exempt_objects(verify: str) -> list[dict[str, object]]:
    return [
        secret("staff", {"auth": htpasswd()}),
        ingress(
            "basic",
            rules=[
                rule(
                    "basic.test",
                    path("/", to("app")),
                    path(ACME, to("app")),
                    path("/public", to("app")),
                )
            ],
            annotations=annotated(auth_type="basic", auth_secret="staff"),
        ),
        ingress(
            "external",
            rules=[
                rule(
                    "ext.test",
                    path("/", to("app")),
                    path(f"{ACME}/token", to("app")),
                    path("/public", to("app")),
                )
            ],
            annotations=annotated(auth_url=verify),
        ),
        ingress(
            "denied",
            rules=[rule("denied.test", path(ACME, to("app")))],
            annotations=annotated(auth_type="basic", auth_secret="nowhere"),
        ),
    ]


@contextlib.contextmanager
def exempt_site(
    nginx_binary: str, auth_service: AuthService, tmp_path: Path, options: dict[str, str]
) -> Iterator[Site]:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(options))
    with started_backends("app") as echo:
        objects = [*exempt_objects(f"{auth_service.url}/verify"), *echo_service(echo["app"])]
        with serving_readable(objects, "--config", str(config), binary=nginx_binary) as served:
            yield served


def test_acme_challenges_ask_no_authentication_by_default(
    nginx_binary: str, auth_service: AuthService, tmp_path: Path
) -> None:
    with exempt_site(nginx_binary, auth_service, tmp_path, {}) as site:
        for host in ("basic.test", "ext.test"):
            assert site.get("/", host=host).status == 401
            assert site.get("/public", host=host).status == 401
            answer = site.get(f"{ACME}/token", host=host)
            assert (answer.status, answer.backend) == (200, "app"), host
        auth_service.requests.clear()
        site.get(f"{ACME}/token", host="ext.test")
        assert auth_service.requests == []  # the auth service is not even asked
        denied = site.get(ACME, host="denied.test")  # a broken setting never opens a path
        assert (denied.status, denied.backend) == (503, None)


def test_no_auth_locations_lists_the_exempt_path_prefixes(
    nginx_binary: str, auth_service: AuthService, tmp_path: Path
) -> None:
    with exempt_site(nginx_binary, auth_service, tmp_path, {"no-auth-locations": "/pub"}) as site:
        for host in ("basic.test", "ext.test"):
            assert site.get(f"{ACME}/token", host=host).status == 401  # the list replaces it
            answer = site.get("/public/page", host=host)
            assert (answer.status, answer.backend) == (200, "app"), host
            assert site.get("/", host=host).status == 401
