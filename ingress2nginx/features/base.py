"""What an annotation is: its name, how far it is supported, the parser of its value, and what
an invalid value does (`OnInvalid`)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingress2nginx.core.directives import Directive
from ingress2nginx.core.errors import Problem
from ingress2nginx.core.objects import Manifest
from ingress2nginx.core.quoting import Token
from ingress2nginx.core.settings import Settings

if TYPE_CHECKING:  # the model holds the features' options: it is one layer up, types only
    from ingress2nginx.features import IngressOptions
    from ingress2nginx.model import Config, Location, Server

PREFIX = "nginx.ingress.kubernetes.io/"


class Support(enum.StrEnum):
    """How far ingress2nginx honours an annotation."""

    SUPPORTED = "supported"
    PARTLY = "partly"
    REFUSED = "refused"


class OnInvalid(enum.StrEnum):
    """What a value outside an annotation's allowlist does, declared per annotation.

    ingress-nginx logs an invalid value and uses the default, except where that would leave
    paths less protected than asked for (authentication, certificates, source ranges): there
    it denies them (its "denied" locations answer 503). ingress2nginx does the same, so an
    invalid value never takes a site offline during a migration, and never opens one up. An
    ignored or denied value never reaches nginx.conf.
    """

    IGNORE = "ignored"
    """A warning names the annotation; its default applies; the Ingress is served."""
    DENY = "denied"
    """An error names the annotation; the Ingress's paths stay claimed and answer 503 while
    the feature is in use (an invalid auth-method without auth-url denies nothing)."""


class AnnotationValueError(ValueError):
    """An annotation value outside its allowlist; the message says what is allowed."""


def compiles(pattern: str) -> str:
    """`pattern` when it is a regular expression (Python's ``re`` agrees with PCRE on the
    subsets the callers allow), else AnnotationValueError saying why."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise AnnotationValueError(f"is not a valid regular expression: {error}") from None
    return pattern


class AnnotationValueIgnored(Exception):
    """A value ingress-nginx accepts but ingress2nginx cannot honour (``load-balance: ewma``):
    the annotation is ignored with a warning saying why, and the Ingress is still served."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """A value outside its allowlist, kept in its option field so that the feature denies the
    Ingress's paths (`OnInvalid.DENY`) when it resolves them."""

    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Kept:
    """What a parser returns when only part of a value is usable (one bad origin in a list):
    the part kept, and why the rest is dropped (a warning naming the annotation)."""

    value: Any
    dropped: str


@dataclass(frozen=True, slots=True)
class Annotation:
    """One annotation as ingress-nginx defines it, and what ingress2nginx does with it."""

    name: str
    """The name after the ``nginx.ingress.kubernetes.io/`` prefix."""
    support: Support
    summary: str
    """What it does, in a sentence (the support matrix shows it)."""
    difference: str = ""
    """For partly supported ones what differs; for refused ones why."""
    field: str = ""
    """``group.attribute`` of `IngressOptions` it sets (empty when refused)."""
    parse: Callable[[str], Any] | None = None
    """Checks a value against its allowlist and converts it; raises AnnotationValueError
    (or returns `Kept` for a value of which only part is usable)."""
    on_invalid: OnInvalid = OnInvalid.IGNORE
    """What a value outside the allowlist does (`OnInvalid`)."""


@dataclass(frozen=True, slots=True)
class Hooks:
    """Where a feature adds to the config; each hook is optional.

    Hooks read the model records (``Location``, ``Server``, ``Config``: model.py) and
    ``Settings``, and give back directive records (directives.py) or header tokens: the
    renderer lays those out, the feature never writes text itself.
    """

    location: Callable[[Location, Settings], Sequence[Directive]] | None = None
    """(location, settings) -> directives inside that location, before the proxy_pass."""
    answer: Callable[[Location, Settings], Sequence[Directive]] | None = None
    """(location, settings) -> directives inside a location nginx answers itself (a redirect,
    a fixed status): how nginx writes that answer (absolute_redirect), not how it proxies."""
    headers: Callable[[Location], dict[str, Token]] | None = None
    """(location) -> request headers to the backend to set or change (name -> token)."""
    server: Callable[[Server, Settings], Sequence[Directive]] | None = None
    """(server, settings) -> directives inside that server, before its locations."""
    http: Callable[[Config, Settings], Sequence[Directive]] | None = None
    """(config, settings) -> directives in the http block (zones, maps), once."""
    inherited: bool = False
    """The `location` directives are ones nginx inherits from the server block (proxy
    timeouts, buffers, body size): when every location of a server has the same, they are
    written once there."""
    admit: (
        Callable[[Manifest, IngressOptions, Settings], tuple[IngressOptions, list[Problem]]] | None
    ) = None
    """(ingress, options, settings) -> (options, problems): drop what the command line does
    not allow (snippets, ssl-passthrough), each with a warning; the Ingress is still served."""


def supported(
    name: str,
    summary: str,
    field: str,
    parse: Callable[[str], Any],
    on_invalid: OnInvalid = OnInvalid.IGNORE,
) -> Annotation:
    """An annotation honoured as ingress-nginx defines it."""
    return Annotation(name, Support.SUPPORTED, summary, "", field, parse, on_invalid)


def partly(
    name: str,
    summary: str,
    difference: str,
    field: str,
    parse: Callable[[str], Any],
    on_invalid: OnInvalid = OnInvalid.IGNORE,
) -> Annotation:
    """An annotation honoured with a documented difference."""
    return Annotation(name, Support.PARTLY, summary, difference, field, parse, on_invalid)


def refused(name: str, summary: str, why: str) -> Annotation:
    """An annotation ingress2nginx does not honour, and why."""
    return Annotation(name, Support.REFUSED, summary, why)
