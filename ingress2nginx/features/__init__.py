"""``nginx.ingress.kubernetes.io/*`` annotations: what each means, and reading them.

Every annotation ingress-nginx defines is declared once, in the module of its feature
(rewrite.py, redirect.py, proxy.py, ...), with its support level (supported, partly,
refused), a one-line summary, and — unless refused — a parser that checks the value against
an allowlist. `REGISTRY` gathers them; docs/annotations.md is generated from it
(``python -m ingress2nginx.features.matrix``). Reading an Ingress's annotations gives an
`IngressOptions` record: one frozen options record per feature. What a value outside its
allowlist does is declared per annotation (`OnInvalid`: ignored with a warning and its default
applied, or the Ingress's paths denied) and applied here, in one place; an unknown or refused
annotation is a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from ingress2nginx.core.actions import CanaryOptions
from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.hashing import compared_fields, remembered_hash
from ingress2nginx.core.objects import Manifest
from ingress2nginx.features import (
    access,
    affinity,
    auth,
    backend_tls,
    balancing,
    canary,
    client_tls,
    cors,
    custom_errors,
    external_auth,
    mirror,
    passthrough,
    proxy,
    ratelimit,
    redirect,
    refusals,
    rewrite,
    secured,
    snippet_variables,
    snippets,
)
from ingress2nginx.features.access import AccessOptions
from ingress2nginx.features.affinity import AffinityOptions
from ingress2nginx.features.auth import BasicAuthOptions
from ingress2nginx.features.backend_tls import BackendTLSOptions
from ingress2nginx.features.balancing import BalancingOptions
from ingress2nginx.features.base import (
    PREFIX,
    Annotation,
    AnnotationValueError,
    AnnotationValueIgnored,
    Hooks,
    Invalid,
    Kept,
    OnInvalid,
    Support,
)
from ingress2nginx.features.client_tls import ClientTLSOptions
from ingress2nginx.features.cors import CorsOptions
from ingress2nginx.features.custom_errors import ErrorOptions
from ingress2nginx.features.external_auth import ExternalAuthOptions
from ingress2nginx.features.mirror import MirrorOptions
from ingress2nginx.features.passthrough import PassthroughOptions
from ingress2nginx.features.proxy import ProxyOptions
from ingress2nginx.features.ratelimit import RateLimitOptions
from ingress2nginx.features.redirect import RedirectOptions
from ingress2nginx.features.rewrite import RewriteOptions
from ingress2nginx.features.snippets import SnippetOptions

__all__ = [
    "FEATURES",
    "PREFIX",
    "REGISTRY",
    "Annotation",
    "AnnotationValueError",
    "Hooks",
    "IngressOptions",
    "OnInvalid",
    "Support",
    "admit",
    "read_options",
]


@dataclass(frozen=True, slots=True)
class IngressOptions:
    """What an Ingress's annotations ask for, one record per feature."""

    rewrite: RewriteOptions = field(default_factory=RewriteOptions)
    redirect: RedirectOptions = field(default_factory=RedirectOptions)
    proxy: ProxyOptions = field(default_factory=ProxyOptions)
    canary: CanaryOptions = field(default_factory=CanaryOptions)
    errors: ErrorOptions = field(default_factory=ErrorOptions)
    cors: CorsOptions = field(default_factory=CorsOptions)
    access: AccessOptions = field(default_factory=AccessOptions)
    ratelimit: RateLimitOptions = field(default_factory=RateLimitOptions)
    balancing: BalancingOptions = field(default_factory=BalancingOptions)
    affinity: AffinityOptions = field(default_factory=AffinityOptions)
    mirror: MirrorOptions = field(default_factory=MirrorOptions)
    passthrough: PassthroughOptions = field(default_factory=PassthroughOptions)
    snippets: SnippetOptions = field(default_factory=SnippetOptions)
    auth: BasicAuthOptions = field(default_factory=BasicAuthOptions)
    external_auth: ExternalAuthOptions = field(default_factory=ExternalAuthOptions)
    backend_tls: BackendTLSOptions = field(default_factory=BackendTLSOptions)
    client_tls: ClientTLSOptions = field(default_factory=ClientTLSOptions)
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)
    """The hash, once computed: every location carries its Ingress's options, and servers
    are looked up by value when rendering (equality stays field by field)."""

    def __hash__(self) -> int:
        return remembered_hash(self, _OPTIONS_FIELDS)


_OPTIONS_FIELDS = compared_fields(IngressOptions)
"""The option groups equality compares, as a tuple: what the remembered hash covers."""
DEFAULT_OPTIONS = IngressOptions()
_DEFAULT_GROUPS: dict[str, Any] = {
    group.name: getattr(DEFAULT_OPTIONS, group.name)
    for group in fields(IngressOptions)
    if group.init
}
"""`DEFAULT_OPTIONS` as keyword arguments: what `dataclasses.replace` of it passes, without
looking at its fields each time."""
_GROUP_TYPES: dict[str, type] = {name: type(group) for name, group in _DEFAULT_GROUPS.items()}
"""The record type of each option group: its defaults are those of the group in
`DEFAULT_OPTIONS` (no option field has a default factory)."""


def _registry(groups: Iterable[tuple[Annotation, ...]]) -> dict[str, Annotation]:
    registry: dict[str, Annotation] = {}
    for group in groups:
        for annotation in group:
            if annotation.name in registry:
                raise ValueError(f"annotation {annotation.name} declared twice")
            registry[annotation.name] = annotation
    return dict(sorted(registry.items()))


FEATURES: tuple[Hooks, ...] = (
    secured.HOOKS,
    access.HOOKS,
    auth.HOOKS,
    external_auth.HOOKS,
    backend_tls.HOOKS,
    client_tls.HOOKS,
    ratelimit.HOOKS,
    cors.HOOKS,
    rewrite.HOOKS,
    redirect.HOOKS,
    proxy.HOOKS,
    canary.HOOKS,
    custom_errors.HOOKS,
    affinity.HOOKS,
    mirror.HOOKS,
    passthrough.HOOKS,
    snippet_variables.HOOKS,
    snippets.HOOKS,
)
"""Every feature's hooks, in the order their directives are written (CORS before rewrite: its
preflight ``return`` must run before a ``rewrite ... break`` ends the rewrite phase; the
``return 503`` of paths denied for authentication runs first of all, see secured.py)."""

REGISTRY: dict[str, Annotation] = _registry(
    (
        rewrite.ANNOTATIONS,
        redirect.ANNOTATIONS,
        proxy.ANNOTATIONS,
        canary.ANNOTATIONS,
        custom_errors.ANNOTATIONS,
        cors.ANNOTATIONS,
        access.ANNOTATIONS,
        ratelimit.ANNOTATIONS,
        balancing.ANNOTATIONS,
        affinity.ANNOTATIONS,
        mirror.ANNOTATIONS,
        passthrough.ANNOTATIONS,
        snippets.ANNOTATIONS,
        auth.ANNOTATIONS,
        external_auth.ANNOTATIONS,
        backend_tls.ANNOTATIONS,
        client_tls.ANNOTATIONS,
        refusals.ANNOTATIONS,
    )
)
"""Every annotation ingress-nginx defines, by name (without the prefix)."""


def read_options(ingress: Manifest) -> tuple[IngressOptions, list[Problem]]:
    """The options an Ingress's annotations ask for, and the problems with them.

    Every problem found here is a warning (an unknown or refused annotation, an ignored value):
    a value that denies the paths (`OnInvalid.DENY`) is kept as an `Invalid` marker, which the
    feature reports as an error when it resolves the Ingress's references (references.py).
    """
    values: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    annotations = ingress.annotations
    for key in sorted(annotations):
        if not key.startswith(PREFIX):
            continue
        where = f"metadata.annotations[{key}]"
        annotation = REGISTRY.get(key[len(PREFIX) :])
        if annotation is None:
            problems.append(_warning(ingress, where, "unknown annotation; ignored", Code.UNKNOWN))
            continue
        if annotation.parse is None:
            reason = f"not supported: {annotation.difference}; ignored"
            problems.append(_warning(ingress, where, reason, Code.UNSUPPORTED_ANNOTATION))
            continue
        reading = _read(annotation, annotations[key])
        if reading.problem is not None:
            severity, reason, code = reading.problem
            problems.append(Problem(severity, ingress.ref, where, reason, code))
        if reading.used:
            group, attribute = annotation.field.split(".")
            values.setdefault(group, {})[attribute] = reading.value
    return _options(values), problems


def _options(values: dict[str, dict[str, Any]]) -> IngressOptions:
    """`DEFAULT_OPTIONS` with the given fields of its groups changed (group name to attribute
    to value): what `dataclasses.replace` of it and of its groups gives, in fewer steps."""
    if not values:
        return DEFAULT_OPTIONS
    groups = {name: _GROUP_TYPES[name](**changes) for name, changes in values.items()}
    return IngressOptions(**(_DEFAULT_GROUPS | groups))


@dataclass(frozen=True, slots=True)
class _Reading:
    """One annotation value read: what goes into its option field, and the problem if any."""

    used: bool
    """False: the field keeps its default."""
    value: Any = None
    problem: tuple[Severity, str, Code] | None = None
    """(severity, reason, code)."""


def _read(annotation: Annotation, text: str) -> _Reading:
    """Parse one value; an invalid one is handled as the annotation declares (`OnInvalid`)."""
    assert annotation.parse is not None
    try:
        parsed = annotation.parse(text)
    except AnnotationValueIgnored as notice:
        reason = f"value {shown(text)} not supported: {notice}; ignored"
        return _Reading(False, problem=(Severity.WARNING, reason, Code.UNSUPPORTED_ANNOTATION))
    except AnnotationValueError as error:
        return _invalid(annotation.on_invalid, text, str(error))
    if isinstance(parsed, Kept):
        reason = f"value {shown(text)}: {parsed.dropped}"
        return _Reading(True, parsed.value, (Severity.WARNING, reason, Code.INVALID_ANNOTATION))
    return _Reading(True, parsed)


def _invalid(policy: OnInvalid, text: str, why: str) -> _Reading:
    if policy is OnInvalid.DENY:  # the feature denies the paths, and says so, when resolved
        return _Reading(True, Invalid(text, why))
    reason = f"invalid value {shown(text)}: {why}; ignored, the default applies"
    return _Reading(False, problem=(Severity.WARNING, reason, Code.INVALID_ANNOTATION))


def _warning(ingress: Manifest, where: str, reason: str, code: Code) -> Problem:
    return Problem(Severity.WARNING, ingress.ref, where, reason, code)


def admit(
    ingress: Manifest, options: IngressOptions, settings: Any
) -> tuple[IngressOptions, list[Problem]]:
    """`options` less what the command line (``settings``) does not allow this Ingress:
    snippets, ssl-passthrough; each dropped annotation is a warning."""
    problems: list[Problem] = []
    for admit_options in _ADMITS:
        options, found = admit_options(ingress, options, settings)
        problems.extend(found)
    return options, problems


_ADMITS = tuple(hooks.admit for hooks in FEATURES if hooks.admit is not None)
"""The features' `Hooks.admit`, in `FEATURES` order."""
