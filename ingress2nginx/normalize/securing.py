"""Which certificate each host gets, from the Ingresses' ``spec.tls`` sections.

A host listed in ``spec.tls[].hosts`` of an Ingress that also has a rule for it gets the
certificate of that entry's Secret; a wildcard TLS host ``*.foo.com`` names the rule hosts one
label below it (``bar.foo.com``) that no entry lists by their own name; an entry without hosts
applies to the Ingress's rule hosts its certificate covers. The oldest Ingress wins a host; a
younger one naming another Secret is reported. A Secret that cannot be used leaves the host on
the default certificate, with a warning naming the Ingress, the field and the Secret (see
certificates.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.model import CertificateFile, Origin, ServerTLS
from ingress2nginx.normalize.certificates import Certificates, covers
from ingress2nginx.normalize.ingress_view import TLSEntry


@dataclass(frozen=True, slots=True)
class HostTLS:
    """The TLS entry that won a host, and what came of it."""

    secret: str
    """``namespace/name`` of the Secret, or ``namespace/`` when the entry names none."""
    origin: Origin
    usable: ServerTLS | None
    """The host's certificate; None when it falls back to the default certificate."""
    names: tuple[str, ...] = ()
    """DNS names the certificate covers (to serve from-to-www redirects with it)."""


@dataclass(slots=True)
class TLSHosts:
    """Collects the TLS entries of Ingresses visited oldest first."""

    certificates: Certificates
    problems: list[Problem]
    hosts: dict[str, HostTLS] = field(default_factory=dict)
    files: dict[str, CertificateFile] = field(default_factory=dict)
    """Certificate files the usable certificates need, by name."""

    def add(self, ingress: Manifest, entries: tuple[TLSEntry, ...], rule_hosts: list[str]) -> None:
        """Take the ``spec.tls`` entries of one Ingress."""
        listed_exactly = {host for entry in entries for host in entry.hosts}
        for entry in entries:
            where, secret, listed = entry.field, entry.secret_name, entry.hosts
            for host in listed:
                if not any(_names(host, rule_host, set()) for rule_host in rule_hosts):
                    reason = f"TLS host {host} has no rule in this Ingress; ignored"
                    self.problems.append(
                        Problem(Severity.INFO, ingress.ref, where, reason, Code.TLS_HOST)
                    )
            if listed:
                targets = [
                    rule_host
                    for rule_host in rule_hosts
                    if any(_names(host, rule_host, listed_exactly) for host in listed)
                ]
            else:
                targets = [host for host in rule_hosts if self._covers(ingress, secret, host)]
            for host in targets:
                self._assign(ingress, host, secret, where)

    def _covers(self, ingress: Manifest, secret: str, host: str) -> bool:
        parsed = self.certificates.lookup(ingress.namespace, secret) if secret else None
        return parsed is not None and not isinstance(parsed, str) and covers(parsed.names, host)

    def _assign(self, ingress: Manifest, host: str, secret: str, where: str) -> None:
        label = f"{ingress.namespace}/{secret}"
        origin = Origin(ingress.namespace, ingress.name, where)
        taken = self.hosts.get(host)
        if taken is not None:
            if taken.secret != label:
                reason = f"TLS for host {host} is already set by {taken.origin}"
                self.problems.append(
                    Problem(Severity.WARNING, ingress.ref, where, reason, Code.CONFLICT)
                )
            return
        if not secret:
            self.hosts[host] = HostTLS(label, origin, None)
            return
        parsed = self.certificates.lookup(ingress.namespace, secret)
        if isinstance(parsed, str):
            trouble = parsed
        elif not covers(parsed.names, host):
            trouble = "its certificate does not cover this host"
        else:
            if parsed.expired:
                self._warn(ingress, where, f"the certificate of secret {label} has expired")
            self.files[parsed.file.name] = parsed.file
            usable = ServerTLS(parsed.file.name, origin)
            self.hosts[host] = HostTLS(label, origin, usable, parsed.names)
            return
        self._warn(
            ingress, where, f"secret {label}: {trouble}; host {host} uses the default certificate"
        )
        self.hosts[host] = HostTLS(label, origin, None)

    def _warn(self, ingress: Manifest, where: str, reason: str) -> None:
        self.problems.append(
            Problem(Severity.WARNING, ingress.ref, f"{where}.secretName", reason, Code.TLS)
        )


def _names(tls_host: str, rule_host: str, listed_exactly: set[str]) -> bool:
    """Whether a ``spec.tls`` host names a rule host: the same host, or a wildcard
    ``*.foo.com`` for a host one label below it (``bar.foo.com``) that no TLS entry of the
    Ingress lists by its own name, as ingress-nginx matches them."""
    if tls_host == rule_host:
        return True
    wildcard = tls_host.startswith("*.") and rule_host not in listed_exactly
    return wildcard and covers((tls_host,), rule_host)
