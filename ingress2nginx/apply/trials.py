"""The trial configs isolating.py asks for when the validator refuses one: rendered, validated.

When the validator refuses a rendered config, the Ingresses responsible are found and the rest
applied. isolating.py holds the search; this module gives it its trials, for the two places that
validate: watch mode (each trial is rendered with the long-lived translator and renderer and
checked by the apply pipeline's validator, beside the output; an Ingress left out gets its last
good version when it has one, lastgood.py) and ``render --validate`` (each trial is checked
with ``nginx -t`` in a scratch prefix; an Ingress left out is simply not rendered).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingress2nginx.apply.applying import validate
from ingress2nginx.apply.isolating import (
    MAX_RUNS,
    MAX_SECONDS,
    Budget,
    Isolation,
    Key,
    Outcome,
    isolate,
    nginx_words,
)
from ingress2nginx.apply.reloading import ApplyPipeline, DesiredConfig
from ingress2nginx.core.errors import OutputValidationError, Problem, Severity
from ingress2nginx.core.logs import fields
from ingress2nginx.core.objects import Inventory
from ingress2nginx.normalize.lastgood import REFUSED_CODE, LastGood
from ingress2nginx.normalize.normalizing import Translation, Translator
from ingress2nginx.render.rendering import Renderer

if TYPE_CHECKING:  # only watch mode passes one: render need not import prometheus-client
    from ingress2nginx.watch.health import Metrics

log = logging.getLogger("ingress2nginx.watch")


@dataclass(frozen=True, slots=True)
class Isolated:
    """A config without the Ingresses nginx refused, that passed the validator."""

    translation: Translation
    desired: DesiredConfig
    culprits: dict[Key, str]
    """Each Ingress responsible, with the validator's words that named it."""
    runs: int


def isolate_for_watch(
    refusal: str,
    failed: DesiredConfig,
    inventory: Inventory,
    translation: Translation,
    memory: LastGood,
    render: Callable[[Inventory], tuple[Translation, DesiredConfig]],
    pipeline: ApplyPipeline,
    metrics: Metrics,
    stop: threading.Event,
) -> tuple[Translation, DesiredConfig, list[Problem]] | None:
    """Watch mode: the config the validator accepts without the culprits (at their last good
    version, unless that is the version refused, else left out) and the problems naming them
    (the refused versions are remembered in `memory`); None when they were not found within
    the budget, or the watcher is stopping (`stop`). Logged and counted in `metrics`."""
    log.warning(
        "the validator refused the new config; looking for the Ingresses responsible",
        extra=fields(reason=refusal),
    )
    made: dict[frozenset[Key], tuple[Translation, DesiredConfig]] = {}

    def trial(excluded: frozenset[Key]) -> Outcome:
        dropped = memory.refused_versions(excluded, translation)
        trial_translation, desired = render(memory.without(inventory, excluded, dropped))
        reason = pipeline.check(desired)
        if reason is None:
            made.clear()
            made[excluded] = (trial_translation, desired)
        return Outcome(reason, desired.text)

    budget = Budget(cancelled=stop.is_set)
    found = isolate(Outcome(refusal, failed.text), trial, memory.suspects(translation), budget)
    isolated = _isolated(found, made)
    metrics.isolation_runs.inc(budget.used)
    if isolated is None:
        if not stop.is_set():
            log.error(
                "no Ingress found responsible within the isolation budget"
                f" ({MAX_RUNS} validations, {MAX_SECONDS:g} s)",
                extra=fields(reason=refusal),
            )
        return None
    metrics.validation_failures.inc()  # the first refusal (the rest is applied)
    log.warning(
        "left out the Ingresses the validator refused; applying the rest",
        extra=fields(ingresses=",".join(f"{ns}/{name}" for ns, name in isolated.culprits),
                     validations=isolated.runs),
    )  # fmt: skip
    problems = memory.refuse(inventory, isolated.culprits, isolated.translation)
    return isolated.translation, isolated.desired, problems


def _isolated(
    found: Isolation | None, made: dict[frozenset[Key], tuple[Translation, DesiredConfig]]
) -> Isolated | None:
    if found is None or not made:
        return None
    ((_, (translation, desired)),) = made.items()
    culprits = {key: nginx_words(reason) for key, reason in found.culprits.items()}
    return Isolated(translation, desired, culprits, found.runs)


def render_validated(
    inventory: Inventory, translation: Translation, text: str, translator: Translator,
    renderer: Renderer,
) -> tuple[str, Translation, list[Problem]]:  # fmt: skip
    """``render --validate``: the text when the validator accepts it; else the text without
    the Ingresses it refused, with a problem naming each. Raises `OutputValidationError`
    when no such Ingresses were found (within the budget)."""
    try:
        validate(text)
        return text, translation, []
    except OutputValidationError as error:
        refusal = str(error)
    made: dict[frozenset[Key], tuple[Translation, DesiredConfig]] = {}

    def trial(excluded: frozenset[Key]) -> Outcome:
        kept = [ingress for ingress in inventory.ingresses if ingress.key not in excluded]
        trial_translation = translator.translate(dataclasses.replace(inventory, ingresses=kept))
        trial_text = renderer.render(trial_translation.config)
        try:
            validate(trial_text)
        except OutputValidationError as error:
            return Outcome(str(error), trial_text)
        made.clear()
        made[excluded] = (
            trial_translation,
            DesiredConfig(trial_text, "", trial_translation.config),
        )
        return Outcome(None, trial_text)

    served = [ingress.key for ingress in translation.served]
    isolated = _isolated(isolate(Outcome(refusal, text), trial, [served]), made)
    if isolated is None:
        raise OutputValidationError(refusal)
    current = {ingress.key: ingress for ingress in inventory.ingresses}
    problems = [
        Problem(
            Severity.ERROR,
            current[key].ref,
            "",
            f"nginx refused the config with it: {reason}; left out (every other Ingress is"
            " still rendered)",
            REFUSED_CODE,
        )
        for key, reason in isolated.culprits.items()
    ]
    return isolated.desired.text, isolated.translation, problems
