"""Key material for the bench's TLS Secrets, derived from the seed so runs are repeatable.

Thousands of certificates, four key generations: one bench CA (EC P-256) signs a leaf per host
whose key comes from a pool of two EC P-256 and two RSA-2048 keys. cryptography cannot seed its
own key generator, so EC keys are derived from seeded integers and RSA keys built from seeded
primes; ECDSA signatures are deterministic (RFC 6979).
"""

from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(2044, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True, slots=True)
class Keys:
    """The key material shared by every Secret of a cluster."""

    ca_key: ec.EllipticCurvePrivateKey
    ca_certificate: x509.Certificate
    leaf_keys: tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, ...]
    leaf_key_pems: tuple[bytes, ...]


@cache
def bench_keys(seed: int) -> Keys:
    """The bench CA and the leaf key pool, derived from the seed (same seed, same keys)."""
    rng = random.Random(f"keys:{seed}")
    ca_key = _ec_key(rng)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ingress2nginx bench CA")])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    leaf_keys = (_ec_key(rng), _rsa_key(rng), _ec_key(rng), _rsa_key(rng))
    pems = tuple(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for key in leaf_keys
    )
    return Keys(ca_key, ca_certificate, leaf_keys, pems)


def certificate_pair(host: str, serial: int, keys: Keys) -> tuple[bytes, bytes]:
    """(chain PEM, key PEM) for `host`: a leaf signed by the bench CA, then the CA; the leaf key
    comes from the pool, chosen by `serial`."""
    leaf_key = keys.leaf_keys[serial % len(keys.leaf_keys)]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(keys.ca_certificate.subject)
        .public_key(leaf_key.public_key())
        .serial_number(1000 + serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(keys.ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + keys.ca_certificate.public_bytes(
        serialization.Encoding.PEM
    )
    return chain, keys.leaf_key_pems[serial % len(keys.leaf_keys)]


def _ec_key(rng: random.Random) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(rng.getrandbits(255) + 1, ec.SECP256R1())


def _rsa_key(rng: random.Random, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key from seeded primes: cryptography cannot seed its own generator."""
    exponent = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(exponent, phi) == 1:
            break
    d = pow(exponent, -1, phi)
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(exponent, p * q),
    ).private_key()


_SMALL_PRIMES = tuple(
    n for n in range(3, 2000, 2) if all(n % d for d in range(3, math.isqrt(n) + 1, 2))
)


def _prime(rng: random.Random, bits: int) -> int:
    """A random prime of exactly `bits` bits (top two set, so p·q has twice as many)."""
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if any(candidate % small == 0 for small in _SMALL_PRIMES):
            continue
        if _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random, rounds: int = 32) -> bool:
    """Miller-Rabin."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
