"""Secrets named by authentication annotations: what is accepted from them, which ones a
cluster reader must fetch, and how their files reach --cert-dir (render and watch)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from auth_helpers import secret, sha_hash

from ingress2nginx.apply.applying import write_certificates, write_secret_files
from ingress2nginx.apply.reloading import desired_config
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.secret_files import (
    SecretFile,
    file_name,
    htpasswd_from_file,
    htpasswd_from_map,
)
from ingress2nginx.core.settings import GlobalConfig, Settings
from ingress2nginx.features import read_options
from ingress2nginx.features.base import AnnotationValueError
from ingress2nginx.features.external_auth_values import absolute_url, url_or_path
from ingress2nginx.model import Config
from ingress2nginx.normalize.normalizing import normalize
from ingress2nginx.normalize.references import referenced_secrets

PREFIX = "nginx.ingress.kubernetes.io/"


def manifest(body: dict[str, object]) -> Manifest:
    metadata = body["metadata"]
    assert isinstance(metadata, dict)
    return Manifest(str(body["kind"]), metadata.get("namespace", "default"), metadata["name"],
                    body, "test")  # fmt: skip


def annotated_ingress(namespace: str = "web", **annotations: str) -> Manifest:
    return manifest(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "site",
                "namespace": namespace,
                "annotations": {PREFIX + k.replace("_", "-"): v for k, v in annotations.items()},
            },
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": "a.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "a", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
    )


# --- htpasswd --------------------------------------------------------------------------------


def test_an_htpasswd_file_is_rewritten_as_user_hash_lines() -> None:
    content = f"# team\r\n\r\nalice:{sha_hash('a')}:comment\r\nbob:{{PLAIN}}b\r\n".encode()
    assert htpasswd_from_file(content) == f"alice:{sha_hash('a')}\nbob:{{PLAIN}}b\n".encode()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"alice\n", "line 1 of the auth key: it is not user:hash"),
        (b"ok:{PLAIN}x\nal ice:{PLAIN}x\n", "line 2 of the auth key: the user name must be"),
        (b"#x\n:{PLAIN}x\n", "line 2"),
        (b"alice:secret\n", "the password is not a hash nginx reads"),
        (b"alice:{PLAIN}a\x00b\n", "the password is not a hash nginx reads"),
        (b"alice:{SHA}short=\n", "the password is not a hash nginx reads"),
        (b"# nobody\n", "it holds no user"),
        (b"\xff\xfe:x\n", "not UTF-8"),
    ],
)
def test_an_htpasswd_line_nginx_could_misread_makes_the_file_unusable(
    content: bytes, reason: str
) -> None:
    found = htpasswd_from_file(content)
    assert isinstance(found, str) and reason in found


def test_an_auth_map_needs_valid_users_and_hashes() -> None:
    assert htpasswd_from_map({"b": b"{PLAIN}2", "a": b"{PLAIN}1\n"}) == b"a:{PLAIN}1\nb:{PLAIN}2\n"
    assert "not a hash" in str(htpasswd_from_map({"a": b"clear"}))
    assert "must not start with '#'" in str(htpasswd_from_map({"#a": b"{PLAIN}1"}))


def test_file_names_come_from_the_secret_name_only() -> None:
    assert file_name("auth-file-", "web", "users", ".htpasswd") == "auth-file-web_users.htpasswd"
    long = file_name("ca-", "n" * 63, "s" * 253, ".crt")
    assert len(long) < 255 and long.startswith("ca-nnn") and long.endswith(".crt")
    with pytest.raises(ValueError):
        file_name("../", "web", "users", "")


# --- URLs with variables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "http://auth/$request_body",
        "http://auth/${host}",
        "http://a$host/",
        "http://$hostile/",
        "https://auth.example.com/check?x=1;proxy_pass",
        'http://auth/"',
        "http://auth/a b",
        "ftp://auth/",
        "//auth/x",
    ],
)
def test_auth_urls_accept_only_a_few_variables_and_url_characters(value: str) -> None:
    with pytest.raises(AnnotationValueError):
        absolute_url(value)


def test_auth_url_variables_become_trusted_pieces_of_one_token() -> None:
    assert url_or_path("https://$host/start?rd=$escaped_request_uri").token() == (
        '"https://$host/start?rd=$request_uri"'
    )
    assert absolute_url("http://10.0.0.1:8080/auth").resolves_name is False
    assert absolute_url("http://auth.svc:8080/auth").resolves_name is True


# --- which Secrets to read -------------------------------------------------------------------


def test_referenced_secrets_names_the_secrets_auth_annotations_read() -> None:
    ingress = annotated_ingress(
        auth_type="basic", auth_secret="users", proxy_ssl_secret="other/backend"
    )
    options, _ = read_options(ingress)
    assert referenced_secrets(ingress, options) == {("web", "users")}
    assert referenced_secrets(ingress, options, allow_cross_namespace=True) == {
        ("web", "users"),
        ("other", "backend"),
    }


def test_an_auth_secret_without_auth_type_is_not_read() -> None:
    ingress = annotated_ingress(auth_secret="users")
    assert referenced_secrets(ingress, read_options(ingress)[0]) == set()


def test_allow_cross_namespace_resources_lets_an_ingress_use_another_namespace() -> None:
    ingress = annotated_ingress(auth_type="basic", auth_secret="shared/users")
    users = manifest(secret("users", {"auth": f"a:{sha_hash('a')}\n"}, namespace="shared"))
    inventory = Inventory.build([ingress, users])
    refused = normalize(inventory, Settings())
    assert any("another namespace" in problem.reason for problem in refused.problems)
    allowed = normalize(
        inventory, Settings(config=GlobalConfig(allow_cross_namespace_resources=True))
    )
    assert not allowed.problems
    assert [file.name for file in allowed.config.secret_files] == [
        "auth-file-shared_users.htpasswd"
    ]


# --- files on disk ---------------------------------------------------------------------------


def test_secret_files_are_private_and_stale_ones_are_removed(tmp_path: Path) -> None:
    cert_dir = tmp_path / "certs"
    first = SecretFile("auth-file-web_a.htpasswd", "web/a", b"a:{PLAIN}a\n")
    second = SecretFile("ca-web_b.crt", "web/b", b"-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "certs").mkdir(mode=0o755)
    (cert_dir / "unrelated.txt").write_text("kept")
    write_secret_files([first, second], cert_dir)
    assert stat.S_IMODE(cert_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cert_dir / first.name).stat().st_mode) == 0o600
    write_certificates(Config((), (), (), False, secret_files=(second,)), cert_dir)
    assert sorted(path.name for path in cert_dir.iterdir()) == ["ca-web_b.crt", "unrelated.txt"]


def test_nothing_is_written_when_no_annotation_needs_a_file(tmp_path: Path) -> None:
    write_secret_files([], tmp_path / "certs")
    assert not (tmp_path / "certs").exists()


def test_a_changed_htpasswd_changes_the_identity_watch_mode_applies() -> None:
    def identity(content: bytes) -> str:
        config = Config((), (), (), False, secret_files=(SecretFile("auth-file-a_b", "", content),))
        return desired_config("same text", config).identity

    assert identity(b"a:{PLAIN}1\n") != identity(b"a:{PLAIN}2\n")


# --- values nginx would refuse for the whole config ------------------------------------------


@pytest.mark.parametrize("ciphers", ["data:x", "!aNULL", "NOTACIPHER"])
def test_a_cipher_list_selecting_nothing_denies_instead_of_breaking_the_config(
    ciphers: str,
) -> None:
    ingress = annotated_ingress(proxy_ssl_secret="backend", proxy_ssl_ciphers=ciphers)
    assert not read_options(ingress)[1]  # the Ingress is not rejected: its paths are denied
    ca = manifest(secret("backend", {"ca.crt": _ca_pem()}, namespace="web"))
    translation = normalize(Inventory.build([ingress, ca]), Settings())
    assert any("selects no cipher OpenSSL knows" in p.reason for p in translation.problems)


def test_a_revocation_list_must_parse() -> None:
    from ingress2nginx.core.secret_files import revocation_list

    assert "revocation list" in str(revocation_list(b"-----BEGIN X509 CRL-----\nnope\n"))


def _ca_pem() -> bytes:
    from auth_helpers import CertificateAuthority

    return CertificateAuthority().pem
