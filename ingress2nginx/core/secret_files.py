"""Files nginx reads from --cert-dir that come from Secrets named by annotations.

Basic authentication needs an htpasswd file (auth-secret), client certificate authentication
a CA bundle (auth-tls-secret), HTTPS backends a CA bundle and a client certificate and key
(proxy-ssl-secret). Each is checked here before it is trusted, and what is written out is
rebuilt from what was parsed, never the Secret's raw bytes: an htpasswd file line by line as
``user:hash`` (users without ``:``, whitespace or control characters; hashes in a format
nginx's ``auth_basic_user_file`` reads), certificates re-serialized as PEM.

File names come only from the Secret's validated namespace and name (DNS names, which cannot
contain ``_``) and a fixed kind prefix, so two Secrets never share a file and no input can
choose a path (`file_name`). Only files with one of `PREFIXES` are ever deleted.

This module does no I/O: applying.py writes the files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ingress2nginx.core.objects import Manifest

DEFAULT_CERTIFICATE = "default-server"
"""File stem of the generated default certificate (in --cert-dir beside these files)."""
HTPASSWD_FILE = "auth-file-"
HTPASSWD_MAP = "auth-map-"
CA_BUNDLE = "ca-"
CLIENT_CERTIFICATE = "client-"
PREFIXES = (HTPASSWD_FILE, HTPASSWD_MAP, CA_BUNDLE, CLIENT_CERTIFICATE)
"""Name prefixes of the files written here; the only ones ever deleted as stale."""
READ_BY_WORKERS = (HTPASSWD_FILE, HTPASSWD_MAP)
"""Prefixes of the files nginx's workers open at each request (``auth_basic_user_file``), not
once in the master at load: they must be readable by the workers' user (workers.py)."""


@dataclass(frozen=True, slots=True)
class SecretFile:
    """One file to write under --cert-dir (mode 0600; 0640 for `READ_BY_WORKERS`, given the
    workers' group, when nginx's master runs as root)."""

    name: str
    """File name (no folder), from `file_name`."""
    secret: str
    """``namespace/name`` of the Secret it comes from, for messages."""
    content: bytes


def file_name(prefix: str, namespace: str, name: str, suffix: str) -> str:
    """``<prefix><namespace>_<name><suffix>``: unique per kind and Secret.

    Namespace and name are validated DNS names without ``_``, so names never collide; long
    ones are cut and completed with a digest so the name stays under 255 bytes.
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown secret file prefix {prefix!r}")
    stem = f"{prefix}{namespace}_{name}"
    if len(stem) > 200:
        digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:16]
        stem = f"{stem[:180]}-{digest}"
    return stem + suffix


def secret_items(secret: Manifest) -> dict[str, bytes] | str:
    """Every key of a Secret with its decoded value, or why the Secret cannot be read.

    ``data`` is base64 (as the API returns it); ``stringData`` (hand-written manifests) is
    plain text and wins on a shared key, as the API server merges them.
    """
    items: dict[str, bytes] = {}
    data = secret.body.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str) or not isinstance(value, str):
                return "its data is not a mapping of names to base64 text"
            try:
                items[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return f"data[{_key_shown(key)}] is not base64"
    string_data = secret.body.get("stringData")
    if isinstance(string_data, Mapping):
        for key, value in string_data.items():
            if not isinstance(key, str) or not isinstance(value, str):
                return "its stringData is not a mapping of names to text"
            items[key] = value.encode()
    return items


def _key_shown(key: str) -> str:
    return key if re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", key) else "?"


# --- htpasswd ---------------------------------------------------------------------------------

_B64 = r"[A-Za-z0-9+/]"
_CRYPT64 = r"[./0-9A-Za-z]"
_ROUNDS = r"(rounds=[0-9]{1,9}\$)?"
HASH_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("{SHA}", re.compile(rf"\{{SHA\}}{_B64}{{27}}=\Z")),
    ("{SSHA}", re.compile(rf"\{{SSHA\}}{_B64}{{28,}}={{0,2}}\Z")),
    ("{PLAIN}", re.compile(r"\{PLAIN\}[\x21-\x39\x3b-\x7e]{1,128}\Z")),
    ("apr1", re.compile(rf"\$apr1\${_CRYPT64}{{1,8}}\${_CRYPT64}{{22}}\Z")),
    ("md5-crypt", re.compile(rf"\$1\${_CRYPT64}{{1,8}}\${_CRYPT64}{{22}}\Z")),
    ("sha256-crypt", re.compile(rf"\$5\${_ROUNDS}{_CRYPT64}{{1,16}}\${_CRYPT64}{{43}}\Z")),
    ("sha512-crypt", re.compile(rf"\$6\${_ROUNDS}{_CRYPT64}{{1,16}}\${_CRYPT64}{{86}}\Z")),
    ("bcrypt", re.compile(rf"\$2[aby]\$[0-3][0-9]\${_CRYPT64}{{53}}\Z")),
    ("yescrypt", re.compile(rf"\$y\${_CRYPT64}+\${_CRYPT64}+\${_CRYPT64}{{43}}\Z")),
    ("des-crypt", re.compile(rf"{_CRYPT64}{{13}}\Z")),
)  # fmt: skip
"""Password formats nginx's ``auth_basic_user_file`` reads: its own ``{SHA}``, ``{SSHA}``,
``{PLAIN}`` and ``$apr1$``, and what the system's crypt() reads. bcrypt and yescrypt depend on
the C library (Debian's and Alpine's read them; plain glibc does not): where crypt() cannot
read a hash, nginx answers 500, never lets the request through."""

_USER = re.compile(r"[\x21-\x39\x3b-\x7e]{1,255}\Z")
"""Printable ASCII without space and ``:`` (which ends the user name in the file)."""


def password_hash_problem(value: str) -> str | None:
    """Why `value` is not a password hash nginx can check; None when it is one."""
    if any(pattern.match(value) for _, pattern in HASH_FORMATS):
        return None
    names = ", ".join(name for name, _ in HASH_FORMATS)
    return f"the password is not a hash nginx reads ({names})"


def user_problem(user: str) -> str | None:
    """Why `user` cannot be an htpasswd user name; None when it can."""
    if not _USER.match(user):
        return "the user name must be printable ASCII without spaces or ':'"
    if user.startswith("#"):
        return "the user name must not start with '#' (nginx reads the line as a comment)"
    return None


def htpasswd_from_file(content: bytes) -> bytes | str:
    """An htpasswd file (``auth-file``), checked line by line and rewritten as ``user:hash``.

    Blank lines and ``#`` comments are dropped, as is a third ``:comment`` field. Returns
    the new content, or why it cannot be used (naming the line, never its content).
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "the auth key is not UTF-8 text"
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        user, colon, rest = line.partition(":")
        password = rest.split(":", 1)[0]
        problem = (
            "it is not user:hash" if not colon else user_problem(user)
        ) or password_hash_problem(password)
        if problem:
            return f"line {number} of the auth key: {problem}"
        entries.append((user, password))
    return _htpasswd(entries)


def htpasswd_from_map(items: Mapping[str, bytes]) -> bytes | str:
    """An htpasswd file from an ``auth-map`` Secret: each key a user, each value a hash."""
    entries: list[tuple[str, str]] = []
    for user in sorted(items):
        problem = user_problem(user)
        if problem is None:
            try:
                password = items[user].decode("ascii").strip()
            except UnicodeDecodeError:
                password = ""
            problem = password_hash_problem(password)
        if problem:
            return f"key {_key_shown(user)}: {problem}"
        entries.append((user, password))
    return _htpasswd(entries)


def _htpasswd(entries: list[tuple[str, str]]) -> bytes | str:
    if not entries:
        return "it holds no user"
    return "".join(f"{user}:{password}\n" for user, password in entries).encode("ascii")


# --- certificates -----------------------------------------------------------------------------


def ca_bundle(pem: bytes) -> bytes | str:
    """PEM certificates (a ``ca.crt``), re-serialized; or why they cannot be read."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return "ca.crt does not hold PEM certificates"
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def revocation_list(pem: bytes) -> bytes | str:
    """A PEM certificate revocation list (a ``ca.crl``), re-serialized; or why it cannot be
    read (nginx would refuse the whole config)."""
    try:
        crl = x509.load_pem_x509_crl(pem)
    except ValueError:
        return "ca.crl does not hold a PEM certificate revocation list"
    return crl.public_bytes(serialization.Encoding.PEM)


def certificate_and_key(chain_pem: bytes, key_pem: bytes) -> tuple[bytes, bytes] | str:
    """A certificate chain and its private key, re-serialized; or why they cannot be used."""
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        return "tls.crt does not hold a PEM certificate"
    try:
        key = serialization.load_pem_private_key(
            key_pem, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError):
        return "tls.key does not hold an unencrypted PEM private key"
    if _public_der(chain[0].public_key()) != _public_der(key.public_key()):
        return "the private key does not match the certificate"
    return (
        b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _public_der(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
