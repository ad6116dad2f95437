"""Kubernetes objects in, the nginx model out: the pure heart of the pipeline.

`normalize` selects the Ingresses of our class, rejects invalid ones alone (each with its
own problems), resolves backends and lays the rest out as servers, locations and upstreams.
It does no I/O: the same inventory and settings always give the same `Translation`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingress2nginx.backends import Backends
from ingress2nginx.classifying import select_served
from ingress2nginx.errors import Problem, Severity
from ingress2nginx.model import Config, ProxyToAddress
from ingress2nginx.objects import Inventory, Manifest
from ingress2nginx.routing import Router
from ingress2nginx.settings import Settings
from ingress2nginx.validating import validate_ingress


@dataclass(frozen=True, slots=True)
class Translation:
    """The model to render and every problem met on the way."""

    config: Config
    problems: tuple[Problem, ...]
    served: tuple[Manifest, ...]
    """The Ingresses rendered (of our class and valid), oldest first."""

    @property
    def worst(self) -> Severity | None:
        """The most severe problem, or None when there is none."""
        return max((problem.severity for problem in self.problems), default=None)


def normalize(inventory: Inventory, settings: Settings) -> Translation:
    """Translate an inventory into the nginx model (SPEC §4, §5)."""
    problems = list(inventory.problems)
    selected = select_served(inventory.ingresses, inventory.ingress_classes, settings, problems)
    valid = [ingress for ingress in selected if _accept(ingress, problems)]
    backends = Backends(inventory, settings)
    router = Router(backends, problems)
    for ingress in valid:
        router.add(ingress)
    servers = router.servers()
    problems.extend(backends.problems)
    config = Config(
        servers=servers,
        upstreams=tuple(backends.upstreams[name] for name in sorted(backends.upstreams)),
        routes=router.routes(),
        resolves_at_request_time=any(
            isinstance(location.action, ProxyToAddress)
            for server in servers
            for location in server.locations
        ),
    )
    return Translation(config, tuple(problems), tuple(valid))


def _accept(ingress: Manifest, problems: list[Problem]) -> bool:
    """Validate one Ingress; an invalid one is reported and left out, alone."""
    found = validate_ingress(ingress)
    if not found:
        return True
    problems.extend(found)
    problems.append(
        Problem(
            Severity.ERROR,
            ingress.ref,
            "",
            "rejected: not rendered (every other Ingress still is)",
            "rejected",
        )
    )
    return False
