"""TLS Secrets into certificate files nginx can load, checked before they are trusted.

A host in an Ingress's ``spec.tls`` uses the ``kubernetes.io/tls`` Secret named there. The
Secret must parse (a PEM certificate chain and a PEM private key), the key must belong to the
certificate, and the certificate must cover the host (a SAN, or for old certificates without
SANs the common name; a ``*.`` name covers exactly one label). When any of this fails, the host
falls back to the generated default certificate and a warning names the Ingress and the
Secret: nothing crashes, and the other hosts keep their certificates.

What is written out is re-serialized from the parsed objects, never the Secret's raw bytes, and
file names come from the Secret's validated namespace and name (`certificate_name`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ingress2nginx.core.errors import shown
from ingress2nginx.core.objects import Inventory, Manifest, ManifestMemo
from ingress2nginx.core.secret_files import DEFAULT_CERTIFICATE as DEFAULT_CERTIFICATE
from ingress2nginx.model import CertificateFile

TLS_SECRET_TYPE = "kubernetes.io/tls"
SECRET_FILE_PREFIX = "tls-"
"""File stem prefix of certificates written from Secrets; only these are ever deleted."""


@dataclass(frozen=True, slots=True)
class ParsedSecret:
    """A TLS Secret that parsed, ready to be matched against hosts."""

    file: CertificateFile
    names: tuple[str, ...]
    """DNS names the certificate covers (SANs, else the common name), lowercased."""
    expired: bool


@dataclass(frozen=True, slots=True)
class CheckedSecret:
    """What a usable TLS Secret holds, whatever the time: `ParsedSecret` less `expired`."""

    file: CertificateFile
    names: tuple[str, ...]
    not_after: datetime.datetime
    """The end of the leaf certificate's validity (UTC)."""


SecretMemo = ManifestMemo[CheckedSecret | str]
"""Per Secret: `CheckedSecret`, or the reason it cannot be used."""


class Certificates:
    """Looks up and checks TLS Secrets, parsing each Secret once (with a `SecretMemo` kept
    between translations, once for as long as it is unchanged)."""

    def __init__(
        self,
        inventory: Inventory,
        now: datetime.datetime | None = None,
        memo: SecretMemo | None = None,
    ) -> None:
        self._inventory = inventory
        self._now = now or datetime.datetime.now(datetime.UTC)
        self._memo = memo if memo is not None else ManifestMemo()
        self._parsed: dict[tuple[str, str], ParsedSecret | str] = {}

    def lookup(self, namespace: str, name: str) -> ParsedSecret | str:
        """The parsed Secret, or the reason it cannot be used."""
        key = (namespace, name)
        found = self._parsed.get(key)
        if found is None:
            found = self._lookup(namespace, name)
            self._parsed[key] = found
        return found

    def _lookup(self, namespace: str, name: str) -> ParsedSecret | str:
        secret = self._inventory.secrets.get((namespace, name))
        if secret is None:
            return "the Secret is not in the input"
        checked = self._memo.get(secret, _check)
        if isinstance(checked, str):
            return checked
        return ParsedSecret(checked.file, checked.names, checked.not_after < self._now)


def _check(secret: Manifest) -> CheckedSecret | str:
    """Parse and check a TLS Secret: a `CheckedSecret`, or the reason it cannot be used."""
    namespace, name = secret.namespace, secret.name
    kind = secret.body.get("type")
    if kind != TLS_SECRET_TYPE:
        return f"the Secret has type {shown(kind)}, not {TLS_SECRET_TYPE}"
    try:
        chain = x509.load_pem_x509_certificates(_secret_value(secret.body, "tls.crt"))
    except (ValueError, TypeError, binascii.Error):
        return "tls.crt does not hold a PEM certificate"
    try:
        key = serialization.load_pem_private_key(
            _secret_value(secret.body, "tls.key"),
            password=None,
            unsafe_skip_rsa_key_validation=True,
        )
    except (ValueError, TypeError, binascii.Error):
        return "tls.key does not hold an unencrypted PEM private key"
    leaf = chain[0]
    if leaf.public_key() != key.public_key():  # compared as their DER would be, unwritten
        return "the private key does not match the certificate"
    file = CertificateFile(
        name=certificate_name(namespace, name),
        secret=f"{namespace}/{name}",
        chain_pem=b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return CheckedSecret(file, _dns_names(leaf), leaf.not_valid_after_utc)


def covers(names: tuple[str, ...], host: str) -> bool:
    """Whether a certificate for `names` is valid for `host` (a ``*.`` name: one label)."""
    host = host.lower()
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and not host.startswith("*."):
            label, _, rest = host.partition(".")
            if label and rest == name[2:]:
                return True
    return False


def certificate_name(namespace: str, name: str) -> str:
    """The file stem for a Secret's certificate: unique per (namespace, name).

    Both are validated DNS names, which cannot contain ``_``, so ``tls-<ns>_<name>`` never
    collides; the length is capped with a digest so the file name stays under 255 bytes.
    """
    stem = f"{SECRET_FILE_PREFIX}{namespace}_{name}"
    if len(stem) > 200:
        digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:16]
        stem = f"{stem[:180]}-{digest}"
    return stem


def generate_default_certificate(
    now: datetime.datetime | None = None,
) -> tuple[bytes, bytes]:
    """A fresh self-signed certificate and key (PEM) for hosts without a usable one."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "ingress2nginx default certificate")]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress2nginx.invalid")]), False)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _secret_value(body: Mapping[str, Any], key: str) -> bytes:
    """A Secret value: base64 under ``data``, or plain under ``stringData`` (hand-written)."""
    data = body.get("data")
    if isinstance(data, Mapping) and isinstance(data.get(key), str):
        return base64.b64decode(data[key], validate=True)
    string_data = body.get("stringData")
    if isinstance(string_data, Mapping) and isinstance(string_data.get(key), str):
        return str(string_data[key]).encode()
    raise ValueError(f"no {key}")


def _dns_names(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return tuple(str(attribute.value).lower() for attribute in common)
    return tuple(name.lower() for name in extension.value.get_values_for_type(x509.DNSName))
