"""Canary Ingresses: each path of one splits the main Ingress's same host and path.

A canary Ingress (``canary: "true"``) claims nothing of its own: the router keeps its paths
aside (`Canary`) until every main Ingress has claimed, then `apply_canaries` turns each main
claim a canary names into a `Split` between both backends (the maps choosing between them are
features/canary.py's). A canary without its main path, a second canary for one path, or a
backend that does not proxy is a warning, and the canary is ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.features import IngressOptions
from ingress2nginx.model import Action, Match, Origin, ProxyToAddress, ProxyToUpstream, Split
from ingress2nginx.normalize.hosts import Host


@dataclass(frozen=True, slots=True)
class Canary:
    """A path of a canary Ingress, waiting for the main path it splits."""

    host: str
    key: tuple[Match, str]
    """(form, path) of the main claim it splits."""
    action: Action
    origin: Origin
    options: IngressOptions


def apply_canaries(canaries: list[Canary], hosts: dict[str, Host], problems: list[Problem]) -> None:
    """Turn each main path named by a canary into a split between both backends."""
    for canary in canaries:
        host = hosts.get(canary.host)
        main = host.claims.get(canary.key) if host is not None else None
        if host is None or main is None:
            shown_host = canary.host or "(any host)"
            reason = f"no main Ingress serves host {shown_host} path {canary.key[1]}"
            _problem(problems, canary, f"{reason}; this canary is ignored")
            continue
        if isinstance(main.action, Split):
            reason = f"path {canary.key[1]} already has the canary {main.action.origin}"
            _problem(problems, canary, f"{reason}; one canary per path")
            continue
        if not isinstance(main.action, ProxyToUpstream | ProxyToAddress) or not isinstance(
            canary.action, ProxyToUpstream | ProxyToAddress
        ):
            reason = "main and canary must both proxy to a Service with endpoints"
            _problem(problems, canary, f"{reason}; this canary is ignored")
            continue
        name = (
            "canary_"
            + hashlib.sha256(
                f"{canary.host}\0{canary.key[0]}\0{canary.key[1]}".encode()
            ).hexdigest()[:12]
        )
        split = Split(main.action, canary.action, canary.options.canary, name, canary.origin)
        host.claims[canary.key] = replace(main, action=split, backend=split.service)


def _problem(problems: list[Problem], canary: Canary, reason: str) -> None:
    ref = ObjectRef("Ingress", canary.origin.namespace, canary.origin.name)
    problems.append(Problem(Severity.WARNING, ref, canary.origin.field, reason, Code.CANARY))
