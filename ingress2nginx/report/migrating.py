"""The migration report: for people leaving ingress-nginx, what carries over and what does not.

``ingress2nginx migration-report SOURCE... [--configmap FILE]`` prints Markdown: a summary,
the controller ConfigMap's keys (known, unknown), then each Ingress with the annotations that
carry over as they are, the ones that behave differently (and how), the refused ones (and
why), other controllers' annotations with the nearest ingress-nginx one
(other_controllers.py), and the Ingress's own problems. It reads the same registry the support
matrix is generated from, so the two never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from ingress2nginx import __version__
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.features import PREFIX, REGISTRY, Support
from ingress2nginx.normalize.classifying import class_of
from ingress2nginx.report.other_controllers import foreign_annotations
from ingress2nginx.sources.configuring import OPTIONS

_UNKNOWN = "unknown"
_INVALID = "invalid"
_IGNORED = "ignored"
_LABELS = {
    Support.SUPPORTED: "carries over",
    Support.PARTLY: "differs",
    Support.REFUSED: "refused",
    _UNKNOWN: "unknown",
    _INVALID: "**invalid value**",
    _IGNORED: "value ignored",
}


_SUMMARY = {
    Support.SUPPORTED: "annotations that carry over",
    Support.PARTLY: "annotations that behave differently",
    Support.REFUSED: "annotations refused",
    _UNKNOWN: "unknown annotations",
    _INVALID: "annotations with an invalid value (paths denied with 503, or the Ingress rejected)",
    _IGNORED: "annotations whose value is ignored (the default applies)",
}


def migration_report(
    inventory: Inventory,
    problems: Sequence[Problem],
    served: Sequence[Manifest],
    settings: Settings,
    configmap: Mapping[str, object] | None = None,
) -> str:
    """The whole report, as Markdown."""
    served_keys = {ingress.key for ingress in served}
    verdicts = {ingress.key: _verdicts(ingress, problems) for ingress in inventory.ingresses}
    counts = Counter(verdict for found in verdicts.values() for _, _, verdict, _ in found)
    lines = [
        "# Migration report",
        "",
        f"Written by ingress2nginx {__version__} for IngressClass `{settings.ingress_class}`.",
        "",
        "| | count |",
        "|---|---|",
        f"| Ingresses read | {len(inventory.ingresses)} |",
        f"| served | {len(served_keys)} |",
    ]
    lines += [f"| {label} | {counts[key]} |" for key, label in _SUMMARY.items()]
    foreign = sum(len(foreign_annotations(ingress)) for ingress in inventory.ingresses)
    lines.append(f"| annotations of other controllers | {foreign} |")
    if configmap is not None:
        lines += ["", *_configmap_section(configmap)]
    lines += ["", "## Ingresses"]
    for ingress in inventory.ingresses:
        lines += ["", *_ingress_section(ingress, verdicts[ingress.key], problems, served_keys)]
    return "\n".join(lines) + "\n"


def _verdicts(ingress: Manifest, problems: Sequence[Problem]) -> list[tuple[str, str, str, str]]:
    """(annotation, value, verdict, note) for each ``nginx.ingress.kubernetes.io/`` one. A
    value the Ingress's problems call invalid (an error: denied or rejected) or ignored never
    "carries over", whatever the registry says of the annotation (`_overrides`)."""
    trouble = _annotation_trouble(ingress, problems)
    found = []
    for key, value in sorted(ingress.annotations.items()):
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        annotation = REGISTRY.get(name)
        if annotation is None:
            found.append((name, value, _UNKNOWN, "ingress-nginx defines no such annotation"))
        elif key in trouble and _overrides(trouble[key][0], annotation.support):
            found.append((name, value, *trouble[key]))
        else:
            found.append((name, value, annotation.support, annotation.difference))
    return found


def _overrides(trouble: str, support: Support) -> bool:
    """An invalid value overrides any verdict but "refused"; an ignored one (a warning) only
    "carries over": "differs" already says what happens instead, with the problem below."""
    if trouble == _INVALID:
        return support is not Support.REFUSED
    return support is Support.SUPPORTED


def _annotation_trouble(
    ingress: Manifest, problems: Sequence[Problem]
) -> dict[str, tuple[str, str]]:
    """Annotation key -> (verdict, the worst problem's reason) from the Ingress's problems."""
    worst: dict[str, Problem] = {}
    for problem in problems:
        field = problem.field
        if (
            _about(problem, ingress)
            and field.startswith("metadata.annotations[")
            and (problem.severity >= Severity.WARNING)
        ):
            key = field.removeprefix("metadata.annotations[").removesuffix("]")
            if key not in worst or problem.severity > worst[key].severity:
                worst[key] = problem
    return {
        key: (_INVALID if problem.severity >= Severity.ERROR else _IGNORED, problem.reason)
        for key, problem in worst.items()
    }


_CONFIG_CHANGES = {
    "upstream-keepalive-connections": "changes: kept per upstream (each Service port), not "
    "once per worker; nginx reserves the whole cache of every upstream, so 320 costs about "
    "50 KB per upstream per worker (default here: 32)",
}
"""ConfigMap keys that carry over with a different meaning, and what differs."""


def _configmap_section(configmap: Mapping[str, object]) -> list[str]:
    lines = ["## Controller ConfigMap", "", "| key | value | |", "|---|---|---|"]
    for key in sorted(configmap, key=str):
        status = "carries over" if key in OPTIONS else "not supported: ignored"
        status = _CONFIG_CHANGES.get(str(key), status)
        lines.append(f"| `{_cell(str(key))}` | {_code(configmap[key])} | {status} |")
    return lines


def _ingress_section(
    ingress: Manifest,
    verdicts: list[tuple[str, str, str, str]],
    problems: Sequence[Problem],
    served: set[tuple[str, str]],
) -> list[str]:
    named, _ = class_of(ingress)
    state = "served" if ingress.key in served else "**not served**"
    lines = [f"### {ingress.namespace}/{ingress.name}", "",
             f"Class: `{_cell(named or '(none)')}`; {state}."]  # fmt: skip
    own = [problem for problem in problems if _about(problem, ingress)]
    if verdicts:
        lines += ["", "| annotation | value | | note |", "|---|---|---|---|"]
        for name, value, verdict, note in verdicts:
            lines.append(f"| `{name}` | {_code(value)} | {_LABELS[verdict]} | {_cell(note)} |")
    foreign = foreign_annotations(ingress)
    if foreign:
        lines += ["", "| other controller's annotation | value | nearest ingress-nginx one |",
                  "|---|---|---|"]  # fmt: skip
        for found in foreign:
            value = _code(ingress.annotations[found.key])
            lines.append(f"| `{_cell(found.key)}` | {value} | {_cell(found.advice)} |")
    if own:
        lines += [""] + [f"- {problem.severity}: {_cell(_text(problem))}" for problem in own]
    if not verdicts and not own and not foreign:
        lines += ["", "Nothing to change: no ingress-nginx annotations, no problems."]
    return lines


def _about(problem: Problem, ingress: Manifest) -> bool:
    subject = problem.subject
    return (
        not isinstance(subject, str)
        and (subject.kind, subject.namespace, subject.name) == ("Ingress", *ingress.key)
        and problem.severity >= Severity.INFO
    )


def _text(problem: Problem) -> str:
    return f"{problem.field}: {problem.reason}" if problem.field else problem.reason


def _code(value: object) -> str:
    text = str(value).replace("\n", "\\n")
    text = text if len(text) <= 60 else text[:57] + "..."
    return "`" + _cell(text).replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
