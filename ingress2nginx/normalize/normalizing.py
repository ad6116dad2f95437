"""Kubernetes objects in, the nginx model out: the pure heart of the pipeline.

`normalize` selects the Ingresses of our class, rejects invalid ones alone (each with its
own problems), resolves backends and lays the rest out as servers, locations and upstreams.
It does no I/O: the same inventory and settings always give the same `Translation`.

A `Translator` is `normalize` with a memory, for watch mode: what depends on one object alone
(an Ingress's validation, options and path keys, an EndpointSlice's endpoints, a TLS Secret's
parsed certificate; a Service's port resolutions, while its endpoint objects are the same) is
kept per `Manifest` object between translations, and each host's server with the inputs it
was built from (servers.py), so after one change among thousands only the changed objects and
hosts are looked at again. The memory never changes a result: a changed object is a new
`Manifest`, a server is reused only for equal inputs, and a translator gives what `normalize`
gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.objects import Inventory, Manifest, ManifestMemo
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import IngressOptions, admit, read_options
from ingress2nginx.features.client_tls import settle as settle_client_tls
from ingress2nginx.features.mirror import needs_resolver
from ingress2nginx.features.snippets import settle_server_snippets
from ingress2nginx.model import (
    Action,
    CertificateFile,
    Choose,
    Config,
    PathType,
    ProxyToAddress,
    Route,
    Server,
    Split,
)
from ingress2nginx.normalize.backends import Backends, ResolutionsMemo
from ingress2nginx.normalize.certificates import Certificates, SecretMemo
from ingress2nginx.normalize.classifying import select_served
from ingress2nginx.normalize.endpoints import EndpointsMemo
from ingress2nginx.normalize.gateway.building import build_gateway
from ingress2nginx.normalize.gateway.filter_directives import (
    needs_resolver as gateway_needs_resolver,
)
from ingress2nginx.normalize.ingress_view import IngressView
from ingress2nginx.normalize.passthrough import passthrough_hosts
from ingress2nginx.normalize.paths import (
    IMPLEMENTATION_SPECIFIC,
    path_problem,
    regex_path_problem,
    regex_sign,
)
from ingress2nginx.normalize.references import resolve_references, secret_files
from ingress2nginx.normalize.references import resolves_names as auth_resolves_names
from ingress2nginx.normalize.routing import ClaimKeyMemo, ClaimMemo, Router
from ingress2nginx.normalize.securing import TLSHosts
from ingress2nginx.normalize.servers import ServerMemo
from ingress2nginx.normalize.validating import validate_ingress
from ingress2nginx.sources.converting import V1_FIELD_CODE


@dataclass(frozen=True, slots=True)
class Translation:
    """The model to render and every problem met on the way."""

    config: Config
    problems: tuple[Problem, ...]
    served: tuple[Manifest, ...]
    """The Ingresses rendered (of our class and valid), oldest first; for a held one (see
    `held`), its last good version."""
    held: tuple[Manifest, ...] = ()
    """Ingresses whose current version is rejected while their last good version (from the
    translation's `fallback`) is rendered instead: the rejected versions, oldest first."""

    @property
    def worst(self) -> Severity | None:
        """The most severe problem, or None when there is none."""
        return max((problem.severity for problem in self.problems), default=None)


def normalize(inventory: Inventory, settings: Settings) -> Translation:
    """Translate an inventory into the nginx model (routing semantics, validation)."""
    return Translator(settings, remember=False).translate(inventory)


@dataclass(frozen=True, slots=True)
class Accepted:
    """An Ingress to serve: its validated spec and its options."""

    ingress: Manifest
    view: IngressView
    options: IngressOptions


Acceptance = tuple[Accepted | None, tuple[Problem, ...]]
"""An Ingress's view and options (None when it is rejected) and the problems found on the
way."""

Fallback = Mapping[tuple[str, str], Manifest]
"""Per Ingress (namespace, name): the version to render when the current one is rejected
(watch mode's last good versions, lastgood.py)."""


class Translator:
    """Translates inventories with one `Settings`, remembering per object what it derived
    from that object alone (see the module docstring). Watch mode keeps one for its lifetime;
    the one-shot commands use `normalize`: one that remembers nothing (for a single
    translation, remembering would only cost memory)."""

    def __init__(self, settings: Settings, *, remember: bool = True) -> None:
        self.settings = settings
        self.accepted: ManifestMemo[Acceptance] = ManifestMemo(remember)
        """Per Ingress: validation (its view), annotations and what the command line admits
        of them."""
        self.endpoints: EndpointsMemo = ManifestMemo(remember)
        """Per EndpointSlice or Endpoints object: the endpoints of each Service port name."""
        self.resolutions: ResolutionsMemo = ManifestMemo(remember)
        """Per Service: what each port resolves to, while its endpoint objects are unchanged."""
        self.secrets: SecretMemo = ManifestMemo(remember)
        """Per TLS Secret: its certificate and key, parsed and checked."""
        self.claim_keys: ClaimKeyMemo = ManifestMemo(remember)
        """Per Ingress: the claim key of each path (checked and decoded)."""
        self.claims: ClaimMemo = ManifestMemo(remember)
        """Per Ingress: the claim each path made, reused while its backend's action is."""
        self.servers = ServerMemo(remember)
        """Per host: the server built, with what it was built from."""

    def translate(self, inventory: Inventory, fallback: Fallback | None = None) -> Translation:
        """Translate an inventory into the nginx model (routing semantics, validation); an
        Ingress whose current version is rejected is rendered as its `fallback` version when
        it has one (accepted), and listed in `Translation.held`."""
        try:
            return self._translate(inventory, fallback or {})
        finally:
            self.servers.forget_unused()
            memos = (self.accepted, self.endpoints, self.resolutions, self.secrets, self.claim_keys,
                     self.claims)  # fmt: skip
            for memo in memos:
                memo.forget_unused()

    def _translate(self, inventory: Inventory, fallback: Fallback) -> Translation:
        settings = self.settings
        problems = list(inventory.problems)
        selected = select_served(inventory.ingresses, inventory.ingress_classes, settings, problems)
        held: list[Manifest] = []
        accepted = [
            _with_references(found, inventory, settings, problems)
            for current in selected
            if (found := self._accept_or_fall_back(current, fallback, problems, held)) is not None
        ]
        requests = {found.ingress: found.options for found in accepted}
        backends = Backends(inventory, settings, requests, self.endpoints, self.resolutions)
        tls = TLSHosts(Certificates(inventory, memo=self.secrets), problems)
        router = Router(backends, tls, settings.config, problems)
        router.claim_keys, router.made, router.built = self.claim_keys, self.claims, self.servers
        for found in accepted:
            router.add(found.ingress, found.view, found.options)
        servers = router.servers()
        gateway = build_gateway(inventory, settings, backends, tls.certificates,
                                _ingress_hosts(router, servers), problems)  # fmt: skip
        servers = gateway.merged(servers)
        problems.extend(backends.problems)
        servers = settle_server_snippets(
            servers, [found.ingress.key for found in accepted], problems
        )
        servers = settle_client_tls(servers)
        passthrough = passthrough_hosts(servers, problems)
        config = Config(
            servers=servers,
            upstreams=tuple(backends.upstreams[name] for name in sorted(backends.upstreams)),
            routes=_routes(router.routes(), gateway.routes),
            resolves_at_request_time=any(
                _resolves_at_request_time(location.action)
                or needs_resolver(location)
                or gateway_needs_resolver(location)
                or auth_resolves_names(location)
                for server in servers
                for location in server.locations
            ),
            certificates=_certificates(tls.files, gateway.certificates),
            https=router.https or gateway.https or bool(passthrough),
            h2c=gateway.h2c,
            sni_ports=gateway.sni_ports,
            passthrough=passthrough,
            stream_snippets=tuple(
                (f"{found.ingress.namespace}/{found.ingress.name}", found.options.snippets.stream)
                for found in accepted
                if found.options.snippets.stream is not None
            ),
            secret_files=secret_files(servers),
            worker_group=settings.worker_group,
        )
        served = tuple(found.ingress for found in accepted)
        return Translation(config, tuple(problems), served, tuple(held))

    def _accept_or_fall_back(
        self, ingress: Manifest, fallback: Fallback, problems: list[Problem], held: list[Manifest]
    ) -> Accepted | None:
        """The version of `ingress` to render, with its view and options (None: rejected)."""
        accepted, found = self.accepted.get(ingress, self._acceptance)
        last_good = fallback.get(ingress.key)
        if accepted is not None or last_good is None or last_good is ingress:
            problems.extend(found)
            return accepted
        kept, _ = self.accepted.get(last_good, self._acceptance)
        if kept is None:
            problems.extend(found)
            return None
        problems.extend(p for p in found if p.code != Code.REJECTED)
        problems.append(Problem(Severity.ERROR, ingress.ref, "", HELD_REASON, HELD_CODE))
        held.append(ingress)
        return kept

    def _acceptance(self, ingress: Manifest) -> Acceptance:
        found: list[Problem] = []
        accepted = _accept(ingress, found, self.settings)
        return accepted, tuple(found)


HELD_CODE = Code.KEPT_LAST_GOOD
"""`Problem.code` of an Ingress whose rejected edit is not applied (its last good version is)."""
HELD_REASON = (
    "edit rejected: not applied; its last good version is still served (fix or delete the"
    " Ingress to clear this)"
)


def _with_references(
    found: Accepted, inventory: Inventory, settings: Settings, problems: list[Problem]
) -> Accepted:
    """`found` with the Secrets its annotations name read into its options."""
    options = resolve_references(
        found.ingress, found.options, inventory.secrets, settings, problems
    )
    return found if options is found.options else Accepted(found.ingress, found.view, options)


def _ingress_hosts(router: Router, servers: tuple[Server, ...]) -> set[str]:
    """The hosts the Ingresses keep from HTTPRoutes: those they have rules for, and every
    other name their servers answer (server-alias, from-to-www-redirect)."""
    names = {name for server in servers if server.host for name in server.server_names}
    return router.ingress_hosts() | {name for name in names if not name.startswith("~")}


def _routes(ingress: tuple[Route, ...], gateway: tuple[Route, ...]) -> tuple[Route, ...]:
    """Every served path, by host then path (the Ingresses' alone keep their own order)."""
    if not gateway:
        return ingress
    return tuple(sorted(ingress + gateway, key=lambda route: (route.host, route.path)))


def _certificates(
    files: dict[str, CertificateFile], more: tuple[CertificateFile, ...]
) -> tuple[CertificateFile, ...]:
    """Every certificate file the servers use, by name, each once."""
    found = {**files, **{file.name: file for file in more}}
    return tuple(found[name] for name in sorted(found))


def _resolves_at_request_time(action: Action) -> bool:
    if isinstance(action, Split):
        return isinstance(action.main, ProxyToAddress) or isinstance(action.canary, ProxyToAddress)
    if isinstance(action, Choose):
        return False  # its choices are named locations of the server, looked at themselves
    return isinstance(action, ProxyToAddress)


def _accept(ingress: Manifest, problems: list[Problem], settings: Settings) -> Accepted | None:
    """Validate one Ingress and read its annotations (less what the command line does not
    allow it); an invalid one is reported and left out, alone (None). Its annotations are read
    even when its spec is invalid, so that every finding is reported at once, not only the
    first that rejected it; an annotation validation refused already (a control character)
    is not reported again by its feature."""
    explained = _report_legacy_fields(ingress, problems)
    validated = validate_ingress(ingress)
    problems.extend(p for p in validated.problems if (p.field, p.code) not in explained)
    options, annotation_problems = read_options(ingress)  # annotations only: safe on any spec
    said = {p.field for p in validated.problems if p.severity >= Severity.ERROR}
    problems.extend(p for p in annotation_problems if p.field not in said)  # said once
    view = validated.view
    if view is not None:
        path_errors = _path_problems(ingress, view, options)
        problems.extend(path_errors)
        if not path_errors and all(p.severity < Severity.ERROR for p in annotation_problems):
            options, refused = admit(ingress, options, settings)
            problems.extend(refused)
            return Accepted(ingress, view, options)
    problems.append(
        Problem(
            Severity.ERROR,
            ingress.ref,
            "",
            "rejected: not rendered (every other Ingress still is)",
            Code.REJECTED,
        )
    )
    return None


def _report_legacy_fields(ingress: Manifest, problems: list[Problem]) -> set[tuple[str, str]]:
    """Report the v1 fields a legacy Ingress's conversion dropped; the (field, code) of the
    validation problems they already explain (a backend left without a Service)."""
    explained: set[tuple[str, str]] = set()
    for fatal, field, reason in ingress.legacy_fields:
        severity = Severity.ERROR if fatal else Severity.WARNING
        problems.append(Problem(severity, ingress.ref, field, reason, V1_FIELD_CODE))
        if fatal:
            explained.add((field.removesuffix(".service"), Code.INVALID_BACKEND))
    return explained


def _path_problems(ingress: Manifest, view: IngressView, options: IngressOptions) -> list[Problem]:
    """ImplementationSpecific paths must be valid regexes in Ingresses that use them as such
    (use-regex, rewrite-target), and valid literal paths in the others."""
    found = []
    for where, path in _implementation_specific_paths(view):
        if options.rewrite.regex:
            reason = regex_path_problem(path)
            reason = f"not a usable regex (use-regex): {reason}" if reason else None
        else:
            reason = path_problem(path, IMPLEMENTATION_SPECIFIC) if path else None
            sign = regex_sign(path) if reason else None
            if sign is not None:
                reason = (
                    f"looks like a regular expression ({shown(sign)}), which an"
                    " ImplementationSpecific path is only in an Ingress with the annotation"
                    ' nginx.ingress.kubernetes.io/use-regex: "true"'
                )
        if reason:
            found.append(Problem(Severity.ERROR, ingress.ref, where, reason, Code.INVALID_PATH))
    return found


def _implementation_specific_paths(view: IngressView) -> list[tuple[str, str]]:
    return [
        (f"{path.field}.path", path.path)
        for rule in view.rules
        for path in rule.paths
        if path.path_type is PathType.IMPLEMENTATION_SPECIFIC
    ]
