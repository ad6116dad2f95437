"""What Ingresses ask of the upstreams they share: one balancing each, and TLS pools of their own.

Several Ingresses (and paths) may proxy to one Service port, which is one ``upstream``
(backends.py). How it balances (load-balance, upstream-hash-by, affinity) is what the oldest
Ingress using it and asking for anything asks (features/balancing.py); a younger Ingress
asking for something else is reported, once per upstream. A name resolved at request time
has no upstream block, so there such a request is reported as not applying. An Ingress with
proxy-ssl-* settings gets a copy of the upstream for those settings alone.
"""

from __future__ import annotations

from dataclasses import replace

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import ObjectRef, Problem, Severity
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import IngressOptions
from ingress2nginx.features.backend_tls import connection_pool
from ingress2nginx.features.balancing import Balancing, describe, requested
from ingress2nginx.model import Action, ProxyToAddress, ProxyToUpstream, Upstream


class SharedUpstreams:
    """Settles, Ingress by Ingress (oldest first), what each asks of the upstreams it uses."""

    def __init__(self, upstreams: dict[str, Upstream]) -> None:
        self._upstreams = upstreams
        """The upstreams resolved so far, by name (backends.py's, changed in place)."""
        self._balanced_by: dict[str, ObjectRef] = {}
        """Upstream name -> the Ingress whose balancing request it follows."""
        self._told: set[tuple[ObjectRef, str]] = set()

    def settle(
        self,
        ingress: Manifest,
        options: IngressOptions,
        action: Action,
        field: str,
        problems: list[Problem],
    ) -> Action:
        """`action` for a backend of `ingress` at `field`, with what its options ask."""
        wanted = requested(options)
        if wanted is not None:
            action = self._balanced(ingress, wanted, action, field, problems)
        return self._isolated(action, options)

    def _isolated(self, action: Action, options: IngressOptions) -> Action:
        """A backend reached with proxy-ssl-* settings gets an upstream of its own for those
        settings: nginx reuses an upstream's keepalive connections whatever TLS settings (CA
        checked, client certificate shown) opened them (features/backend_tls.py)."""
        plan = options.backend_tls.plan
        if plan is None or not isinstance(action, ProxyToUpstream):
            return action
        name = f"{action.upstream}_tls{connection_pool(plan)}"
        if name not in self._upstreams:
            self._upstreams[name] = replace(self._upstreams[action.upstream], name=name)
        return replace(action, upstream=name)

    def _balanced(
        self,
        ingress: Manifest,
        wanted: Balancing,
        action: Action,
        field: str,
        problems: list[Problem],
    ) -> Action:
        """Settle the balancing of `action`'s upstream: the oldest Ingress asking decides."""
        if isinstance(action, ProxyToAddress):
            reason = (
                f"{describe(wanted)} needs an upstream of endpoints, but {action.service} is"
                " reached by a name nginx resolves at request time (no endpoints in the input,"
                " or ExternalName); not applied"
            )
            self._tell(problems, ingress, field, action.service, reason)
            return action
        if not isinstance(action, ProxyToUpstream):
            return action
        upstream = self._upstreams[action.upstream]
        if upstream.name not in self._balanced_by:
            self._balanced_by[upstream.name] = ingress.ref
            upstream = replace(upstream, balancing=wanted)
            self._upstreams[upstream.name] = upstream
        elif upstream.balancing != wanted:
            owner = self._balanced_by[upstream.name]
            reason = (
                f"service {action.service} is balanced by {describe(upstream.balancing)}, as the"
                f" older {owner} asks; {describe(wanted)} is ignored for it"
            )
            self._tell(problems, ingress, field, upstream.name, reason, Code.CONFLICT)
        if wanted.cookie is not None and upstream.balancing.cookie == wanted.cookie:
            return replace(action, affinity_cookie=wanted.cookie)
        return action

    def _tell(
        self,
        problems: list[Problem],
        ingress: Manifest,
        field: str,
        about: str,
        reason: str,
        code: Code = Code.BALANCING,
    ) -> None:
        """Report a balancing problem once per Ingress and upstream (not once per path)."""
        if (ingress.ref, about) in self._told:
            return
        self._told.add((ingress.ref, about))
        problems.append(Problem(Severity.WARNING, ingress.ref, field, reason, code))
