"""TLS Secrets generated at test time: no private key is ever committed to the repository.

`tls_secret` builds a ``kubernetes.io/tls`` Secret manifest for some hosts, optionally broken
in one of the ways users get them wrong (wrong type, key not matching, expired, not
PEM). `secrets_from_spec` reads a golden case's ``tls-secrets`` file, one Secret a line:

    namespace/name host[,host...] [mismatched-key] [expired] [not-pem] [type=Opaque]
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from harness import make_self_signed_cert


def tls_secret(
    namespace: str,
    name: str,
    hosts: list[str],
    *,
    mismatched_key: bool = False,
    expired: bool = False,
    not_pem: bool = False,
    secret_type: str = "kubernetes.io/tls",
) -> dict[str, Any]:
    """A TLS Secret manifest holding a fresh self-signed certificate for `hosts`."""
    pair = make_self_signed_cert(*hosts, days=-1 if expired else 30)
    key = make_self_signed_cert(*hosts).key_pem if mismatched_key else pair.key_pem
    cert = b"not a certificate" if not_pem else pair.cert_pem
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": secret_type,
        "data": {
            "tls.crt": base64.b64encode(cert).decode(),
            "tls.key": base64.b64encode(key).decode(),
        },
    }


def secrets_from_spec(path: Path) -> list[dict[str, Any]]:
    """The Secrets a golden case's ``tls-secrets`` file asks for (none when it is absent)."""
    if not path.exists():
        return []
    secrets = []
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        namespace, name = words[0].split("/")
        flags = set(words[2:])
        secret_type = next(
            (flag.split("=", 1)[1] for flag in flags if flag.startswith("type=")),
            "kubernetes.io/tls",
        )
        secrets.append(
            tls_secret(
                namespace,
                name,
                words[1].split(","),
                mismatched_key="mismatched-key" in flags,
                expired="expired" in flags,
                not_pem="not-pem" in flags,
                secret_type=secret_type,
            )
        )
    return secrets
