"""Which Ingresses are ours: IngressClass selection, as ingress-nginx chooses.

An Ingress is served when its legacy ``kubernetes.io/ingress.class`` annotation or its
``spec.ingressClassName`` names our class. The annotation, when present, decides (as
ingress-nginx does). An Ingress naming no class is served when our IngressClass carries
``ingressclass.kubernetes.io/is-default-class: "true"`` or ``--watch-ingress-without-class``
is set. Every Ingress left out is named in an informational problem, never silently lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity, shown
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.settings import Settings

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


def select_served(
    ingresses: Iterable[Manifest],
    ingress_classes: Mapping[str, Manifest],
    settings: Settings,
    problems: list[Problem],
) -> list[Manifest]:
    """The Ingresses of our class, in input order; the others are reported in `problems`."""
    ours = settings.ingress_class
    classless_served = settings.watch_ingress_without_class or _is_default_class(
        ingress_classes.get(ours)
    )
    served = []
    for ingress in ingresses:
        named, field = class_of(ingress)
        if named == ours or (named is None and classless_served):
            served.append(ingress)
            continue
        reason = (
            f"not served: class {shown(named)} is not {shown(ours)}"
            if named is not None
            else f"not served: no class, and IngressClass {shown(ours)} is not the default"
            " (mark it with ingressclass.kubernetes.io/is-default-class or pass"
            " --watch-ingress-without-class)"
        )
        problems.append(Problem(Severity.INFO, ingress.ref, field, reason, Code.OTHER_CLASS))
    return served


def class_of(ingress: Manifest) -> tuple[str | None, str]:
    """The class an Ingress names and the field that names it; (None, "") when it names none."""
    annotations = ingress.metadata.get("annotations")
    annotated = annotations.get(CLASS_ANNOTATION) if isinstance(annotations, Mapping) else None
    if isinstance(annotated, str):
        return annotated, f"metadata.annotations[{CLASS_ANNOTATION}]"
    spec = ingress.body.get("spec")
    named = spec.get("ingressClassName") if isinstance(spec, Mapping) else None
    if isinstance(named, str) and named:
        return named, "spec.ingressClassName"
    return None, ""


def _is_default_class(ingress_class: Manifest | None) -> bool:
    return (
        ingress_class is not None
        and ingress_class.annotations.get(DEFAULT_CLASS_ANNOTATION, "").lower() == "true"
    )
