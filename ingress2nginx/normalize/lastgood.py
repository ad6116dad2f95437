"""Fail safe per object: an Ingress that was served keeps its last good version through a bad edit.

ingress-nginx's admission webhook refused a bad edit before the API stored it, so the Ingress
kept serving what it was. Without a webhook, the edit reaches the watcher, and rejecting the
whole Ingress would take its hosts down (404) until someone fixes it. So watch mode remembers,
per Ingress, the version nginx last ran (`LastGood.versions`, updated after each config nginx
confirmed) and:

- when the current version is **rejected** (a bad host, a path without a leading slash, an
  annotation value that must reject), renders the last good version instead
  (`Translator.translate`'s fallback), reports the edit (problem ``kept-last-good`` beside the
  problems naming the field and the reason), and counts it;
- when **nginx refuses** a config, the Ingresses responsible are found (isolating.py) and
  replaced by their last good version, or left out when they have none; the version nginx
  refused is remembered (`LastGood.refused`) and kept out of later passes without running
  ``nginx -t`` again, until it changes (a new edit is judged afresh) or is deleted.

A new Ingress that is invalid from the start has no last good version: it is rejected alone,
as by ``render``. Deleting an Ingress drops its last good version (it is no longer served);
a valid edit replaces it. The memory lives in the process: a restarted watcher starts from
what the sources say.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingress2nginx.core.codes import Code
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.normalize.normalizing import HELD_CODE, Translation

Key = tuple[str, str]

REFUSED_CODE = Code.REFUSED_BY_NGINX
"""`Problem.code` of an Ingress left out (or kept at its last good version) because nginx
refused the config with it."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A version of an Ingress that nginx refused, and nginx's words."""

    fingerprint: str
    reason: str
    dropped: bool = False
    """Left out even though it has a last good version: nginx refused that one too."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should see on the Ingress itself (a cluster Event)."""

    ingress: Manifest
    """The current version (the one rejected or refused)."""
    reason: str
    """``RejectedEdit``, ``Rejected`` or ``NginxRefused`` (an Event's ``reason``)."""
    message: str


def fingerprint(manifest: Manifest) -> str:
    """What an Ingress asks for (its spec and annotations), as a digest: two versions that
    differ only in status, resourceVersion or labels have the same one, so publishing a status
    never makes a rejected edit count twice, or a refused one be tried again."""
    wanted = {"spec": manifest.body.get("spec"), "annotations": dict(manifest.annotations)}
    text = json.dumps(wanted, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def differs(first: Manifest, second: Manifest) -> bool:
    """Whether two versions of an Ingress ask for different things."""
    return first is not second and fingerprint(first) != fingerprint(second)


class LastGood:
    """Watch mode's memory of the Ingress versions nginx ran and of the ones it refused."""

    def __init__(self) -> None:
        self.versions: dict[Key, Manifest] = {}
        """Per served Ingress: the version in the config nginx last confirmed."""
        self.refused: dict[Key, Refusal] = {}
        self._counted: dict[Key, str] = {}
        """Fingerprints of the rejected edits already counted (each edit counts once)."""

    def prepare(self, inventory: Inventory) -> tuple[Inventory, list[Problem]]:
        """The inventory with each Ingress nginx refused (unchanged since) replaced by its last
        good version or left out, and the problems saying so; refusals of Ingresses since
        edited or deleted are forgotten."""
        current = {ingress.key: ingress for ingress in inventory.ingresses}
        for key in list(self.refused):
            ingress = current.get(key)
            if ingress is None or fingerprint(ingress) != self.refused[key].fingerprint:
                del self.refused[key]
        problems = [self.refusal_problem(current[key]) for key in self.refused]
        dropped = [key for key, refusal in self.refused.items() if refusal.dropped]
        return self.without(inventory, self.refused, dropped), problems

    def without(
        self, inventory: Inventory, keys: Iterable[Key], drop: Iterable[Key] = ()
    ) -> Inventory:
        """`inventory` with the Ingresses of `keys` at their last good version (when it
        differs from the current one and is not in `drop`), else left out."""
        keys, dropped = set(keys), set(drop)
        if not keys:
            return inventory
        ingresses: list[Manifest] = []
        for ingress in inventory.ingresses:
            if ingress.key not in keys:
                ingresses.append(ingress)
                continue
            kept = self.versions.get(ingress.key)
            if kept is not None and ingress.key not in dropped and differs(kept, ingress):
                ingresses.append(kept)
        ingresses.sort(key=lambda manifest: manifest.age_key)
        return dataclasses.replace(inventory, ingresses=ingresses)

    def refuse(
        self, inventory: Inventory, culprits: Mapping[Key, str], applied: Translation
    ) -> list[Problem]:
        """Remember the versions nginx refused (`applied` is the config without them); the
        problems naming them."""
        current = {ingress.key: ingress for ingress in inventory.ingresses}
        served = {ingress.key for ingress in applied.served}
        problems = []
        for key, reason in culprits.items():
            ingress = current.get(key)
            if ingress is not None:
                dropped = key not in served
                self.refused[key] = Refusal(fingerprint(ingress), reason, dropped)
                problems.append(self.refusal_problem(ingress))
        return problems

    def refused_versions(self, keys: Iterable[Key], translation: Translation) -> list[Key]:
        """Of `keys`, those `translation` already serves at their last good version (leaving
        one of them out means dropping it)."""
        served = {ingress.key: ingress for ingress in translation.served}
        return [key for key in keys if (kept := self.versions.get(key)) is not None
                and served.get(key) is kept]  # fmt: skip

    def refusal_problem(self, ingress: Manifest) -> Problem:
        kept, refusal = self.versions.get(ingress.key), self.refused[ingress.key]
        fate = (
            "its last good version is still served"
            if kept is not None and not refusal.dropped and differs(kept, ingress)
            else "left out (every other Ingress is still served)"
        )
        reason = f"nginx refused the config with it: {refusal.reason}; {fate}"
        return Problem(Severity.ERROR, ingress.ref, "", reason, REFUSED_CODE)

    def suspects(self, translation: Translation) -> list[list[Key]]:
        """Who may have made nginx refuse `translation`: the Ingresses added or changed since
        the last config nginx ran, then every Ingress rendered."""
        served = [ingress.key for ingress in translation.served]
        changed = [
            ingress.key
            for ingress in translation.served
            if (kept := self.versions.get(ingress.key)) is None or differs(kept, ingress)
        ]
        return [changed, served]

    def applied(self, translation: Translation) -> None:
        """nginx runs `translation`: its versions are the last good ones now."""
        self.versions = {ingress.key: ingress for ingress in translation.served}

    def held(self, translation: Translation, inventory: Inventory) -> list[Key]:
        """The Ingresses served at their last good version instead of their current one."""
        keys = {ingress.key for ingress in translation.held}
        if not self.refused:
            return sorted(keys)
        served = {ingress.key: ingress for ingress in translation.served}
        for ingress in inventory.ingresses:
            kept = self.versions.get(ingress.key)
            if ingress.key in self.refused and kept is not None and served.get(ingress.key) is kept:
                keys.add(ingress.key)
        return sorted(keys)

    def new_rejections(self, notices: Sequence[Notice]) -> int:
        """How many of the edits noticed were not counted before (each counts once)."""
        count = 0
        for notice in notices:
            if notice.reason == "Rejected":
                continue
            key, mark = notice.ingress.key, fingerprint(notice.ingress)
            if self._counted.get(key) != mark:
                self._counted[key] = mark
                count += 1
        return count


def notices(
    problems: Sequence[Problem], translation: Translation, inventory: Inventory
) -> list[Notice]:
    """What to tell about each Ingress rejected, held at its last good version or refused by
    nginx, with the problems that explain it (field and reason)."""
    if not any(problem.severity >= Severity.ERROR for problem in problems):
        return []
    current = {ingress.ref: ingress for ingress in inventory.ingresses}
    by_ref: dict[Any, list[Problem]] = {}
    for problem in problems:
        if problem.severity >= Severity.ERROR and problem.subject in current:
            by_ref.setdefault(problem.subject, []).append(problem)
    found = []
    for ref, found_problems in by_ref.items():
        codes = {problem.code for problem in found_problems}
        if REFUSED_CODE in codes:
            reason = "NginxRefused"
        elif HELD_CODE in codes:
            reason = "RejectedEdit"
        elif Code.REJECTED in codes:
            reason = "Rejected"
        else:
            continue
        message = "; ".join(_described(problem) for problem in found_problems)
        found.append(Notice(current[ref], reason, message))
    return found


def _described(problem: Problem) -> str:
    return f"{problem.field}: {problem.reason}" if problem.field else problem.reason
