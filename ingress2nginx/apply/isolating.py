"""Which Ingresses make nginx refuse a config: found, so the rest can still be applied.

ingress-nginx's admission webhook ran ``nginx -t`` on each Ingress before the API stored it,
so a snippet nginx refuses never reached the running config. Here the whole rendered file is
validated, so one refused Ingress would cost every host. `isolate` finds the Ingresses
responsible by trying configs rendered without some of them (a `Trial`):

1. **The line nginx names.** ``nginx -t`` (and crossplane) name the line they refused. The
   comments of the rendered file name the Ingress of each location and snippet
   (``# default/web spec.rules[0]...``, ``# configuration-snippet of default/web``): the
   Ingress named nearest above that line is tried first, alone. When leaving it out makes a
   different error appear, it was one culprit and the next error is followed the same way;
   when the config passes, the search is over, usually after one run.
2. **Bisection** over each group of suspects in turn (watch mode: the Ingresses added or
   changed since the last config nginx accepted, then all of them; ``render --validate``: all
   of them): leave the whole group out; when that passes, halve it until each culprit is
   alone, keeping the half whose absence still makes the config pass.

A `Budget` bounds the work: at most `MAX_RUNS` trials and `MAX_SECONDS` seconds (a trial under
way is finished). Out of budget, or when a config without any suspect still fails (the cause is
not an Ingress: a port, a global option), `isolate` gives up and returns None: the caller then
applies nothing, as before. Nothing here runs nginx or renders: the caller's `Trial` does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Key = tuple[str, str]
"""An Ingress's (namespace, name)."""

MAX_RUNS = 24
"""At most this many configs are validated while isolating: the line nginx names usually
needs one per culprit; bisection about 1.5 x log2(suspects) per culprit (some 21 for one among
10,000 Ingresses; far fewer among the few changed since the last accepted config)."""
MAX_SECONDS = 60.0
"""Isolation starts no new trial after this many seconds."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What validating one trial config said: None when it passed, else the reason; and the
    rendered text (to map the line nginx names back to an Ingress)."""

    refusal: str | None
    text: str


Trial = Callable[[frozenset[Key]], Outcome]
"""Render without (or, in watch mode, with the last good version of) the given Ingresses,
and validate."""


class OutOfBudget(Exception):
    """The trial budget is spent."""


@dataclass(slots=True)
class Budget:
    """How many trials, and how long, isolating may still take."""

    runs: int = MAX_RUNS
    seconds: float = MAX_SECONDS
    cancelled: Callable[[], bool] = lambda: False
    """Whether to stop now (the watcher is stopping)."""
    used: int = 0
    started: float = field(default_factory=time.monotonic)

    def spend(self) -> None:
        """Count one trial; `OutOfBudget` when none is left."""
        spent = self.used >= self.runs or time.monotonic() - self.started > self.seconds
        if spent or self.cancelled():
            raise OutOfBudget
        self.used += 1


@dataclass(frozen=True, slots=True)
class Isolation:
    """The Ingresses left out, each with the refusal that named it, and the config that
    passed without them."""

    culprits: dict[Key, str]
    passed: Outcome
    runs: int


def isolate(
    failed: Outcome, trial: Trial, groups: Sequence[Sequence[Key]], budget: Budget | None = None
) -> Isolation | None:
    """The smallest set of Ingresses found whose absence lets the config pass (see the module
    docstring); None when none was found within the budget."""
    search = _Search(trial, budget or Budget())
    try:
        return search.run(failed, groups)
    except OutOfBudget:
        return None


class _Search:
    def __init__(self, trial: Trial, budget: Budget) -> None:
        self._trial = trial
        self._budget = budget
        self.culprits: dict[Key, str] = {}

    def run(self, failed: Outcome, groups: Sequence[Sequence[Key]]) -> Isolation | None:
        outcome = self._follow_lines(failed)
        if outcome.refusal is None:
            return self._done(outcome)
        for group in groups:
            excluded = frozenset(self.culprits)
            suspects = [key for key in dict.fromkeys(group) if key not in excluded]
            if not suspects:
                continue
            without = self._try(excluded | frozenset(suspects))
            if without.refusal is not None:
                continue  # not (only) this group's fault: try a wider one
            assert outcome.refusal is not None
            self._bisect(suspects, excluded, outcome.refusal)
            return self._done(
                without if len(suspects) == 1 else self._try(frozenset(self.culprits))
            )
        return None

    def _done(self, passed: Outcome) -> Isolation | None:
        if passed.refusal is not None or not self.culprits:
            return None
        return Isolation(dict(self.culprits), passed, self._budget.used)

    def _try(self, excluded: frozenset[Key]) -> Outcome:
        self._budget.spend()
        return self._trial(excluded)

    def _follow_lines(self, failed: Outcome) -> Outcome:
        """Leave out the Ingress named nearest above each refused line while that changes the
        refusal; the last outcome (passed, or the refusal the lines did not explain)."""
        outcome = failed
        while outcome.refusal is not None:
            suspect = suspect_at(outcome.text, outcome.refusal)
            if suspect is None or suspect in self.culprits:
                return outcome
            tried = self._try(frozenset(self.culprits) | {suspect})
            if not _moved(outcome.refusal, tried, suspect):
                return outcome  # leaving it out changed nothing: not (only) this one
            self.culprits[suspect] = outcome.refusal
            outcome = tried
        return outcome

    def _bisect(self, suspects: list[Key], base: frozenset[Key], refusal: str) -> None:
        """Find the culprits among `suspects`: the config fails with `refusal` when only
        `base` is left out, and passes when `suspects` are too."""
        if len(suspects) == 1:
            self.culprits[suspects[0]] = refusal
            return
        half = len(suspects) // 2
        first, second = suspects[:half], suspects[half:]
        only_first = self._try(base | frozenset(second))
        if only_first.refusal is None:  # the first half is innocent
            self._bisect(second, base, refusal)
            return
        self._bisect(first, base | frozenset(second), only_first.refusal)
        found = frozenset(key for key in self.culprits if key in first)
        rest = self._try(base | found)
        if rest.refusal is not None:
            self._bisect(second, base | found, rest.refusal)


_REFUSED_LINE = re.compile(r" in \S+:(\d+)|\bline (\d+)\b")
_NAMED = re.compile(r"#.*?\b([a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*)(?:\s|$)")
_LINE_NUMBERS = re.compile(r"(:|line )\d+")


def refused_line(refusal: str) -> int | None:
    """The line a validator's message names (``... in /conf/nginx.conf:82``, crossplane's
    ``line 82: ...``), or None."""
    match = _REFUSED_LINE.search(refusal)
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def suspect_at(text: str, refusal: str) -> Key | None:
    """The Ingress named by the nearest comment at or above the refused line, within its
    block of the config (``server``, ``stream``); None when there is none."""
    line = refused_line(refusal)
    lines = text.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return None
    for number in range(line - 1, -1, -1):
        content = lines[number].strip()
        match = _NAMED.match(content)
        if match is not None:
            namespace, name = match.group(1).split("/", 1)
            return (namespace, name)
        if content.startswith(("server {", "stream {", "http {")):
            return None
    return None


def _moved(refusal: str, tried: Outcome, suspect: Key) -> bool:
    """Whether leaving `suspect` out made `refusal` go away: the config passed, or now fails
    elsewhere (at another Ingress's line, or with other words)."""
    if tried.refusal is None:
        return True
    now = suspect_at(tried.text, tried.refusal)
    if now is not None and now != suspect:
        return True
    return _LINE_NUMBERS.sub("", refusal) != _LINE_NUMBERS.sub("", tried.refusal)


_NGINX_PREFIX = re.compile(r"(?:nginx: )?\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: ")
_NOISE = (
    re.compile(r"^.*? refused the config: "),
    re.compile(r"[\s|]*nginx: configuration file \S+ test failed\s*$"),
)


def nginx_words(refusal: str) -> str:
    """A validator's message without its preamble, nginx's time stamps and pids and its
    closing "test failed" line; printable."""
    cleaned = _NGINX_PREFIX.sub(r"\1 ", refusal)
    for noise in _NOISE:
        cleaned = noise.sub("", cleaned)
    cleaned = " ".join(cleaned.split())
    return "".join(character if character.isprintable() else " " for character in cleaned)
