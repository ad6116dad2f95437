"""What ``check`` finds beyond what rendering reports: paths that can never answer,
certificates about to expire.

Rendering already reports rejected Ingresses (with field paths), conflicts and who won,
unknown and unsupported annotations, Services and Service ports missing from the input and
unusable Secrets; these checks need the whole picture, so they run on the finished model.
"""

from __future__ import annotations

import datetime

from cryptography import x509

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.objects import Inventory
from ingress2nginx.model import Config, Origin
from ingress2nginx.normalize.gateway.matching import path_type_name
from ingress2nginx.report.explaining import shadowed


def lint(
    inventory: Inventory,
    config: Config,
    warn_expiry_days: int,
    now: datetime.datetime | None = None,
) -> list[Problem]:
    """Every problem found in the finished model, in a stable order."""
    now = now or datetime.datetime.now(datetime.UTC)
    return [
        *shadowed_paths(config),
        *expiring_certificates(config, now + datetime.timedelta(days=warn_expiry_days)),
    ]


def shadowed_paths(config: Config) -> list[Problem]:
    """Ingress paths that never answer a request they match (explaining.py decides, replaying
    nginx's choice as ``explain --request`` does)."""
    found = []
    for hidden in shadowed(config):
        route = hidden.route
        winners = ", ".join(
            str(winner.origin) if winner.origin else "the host's default answer"
            for winner in hidden.winners
        )
        verb = "always matches" if len(hidden.winners) == 1 else "always match"
        reason = (
            f"path {route.path} ({path_type_name(route)}) on host {route.host or '(any)'} never"
            f" answers: {winners} {verb} first"
        )
        found.append(_problem(route.origin, f"{route.origin.field}.path", reason, Code.SHADOWED))
    return found


def expiring_certificates(config: Config, deadline: datetime.datetime) -> list[Problem]:
    """Certificates in use that expire before `deadline`."""
    found = []
    for certificate in config.certificates:
        leaf = x509.load_pem_x509_certificates(certificate.chain_pem)[0]
        expiry = leaf.not_valid_after_utc
        if expiry < deadline:
            namespace, _, name = certificate.secret.partition("/")
            when = expiry.strftime("%Y-%m-%d")
            reason = f"the certificate expires on {when}"
            found.append(Problem(Severity.WARNING, ObjectRef("Secret", namespace, name), "data",
                                 reason, Code.CERTIFICATE_EXPIRY))  # fmt: skip
    return found


def _problem(origin: Origin, field: str, reason: str, code: Code) -> Problem:
    ref = ObjectRef(origin.kind, origin.namespace, origin.name)
    return Problem(Severity.WARNING, ref, field, reason, code)
