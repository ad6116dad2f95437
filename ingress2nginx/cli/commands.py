"""The one-shot commands: ``render``, ``check``, ``explain``, ``migration-report``.

Each loads the sources (files, stdin or the API), translates them, and presents the result;
the stages live in their own modules, this one only runs them and maps outcomes to exit codes
(exit_codes.py).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from ingress2nginx.apply.applying import (
    find_nginx,
    make_runtime_dir,
    start_writing_certificates,
    write_atomically,
    write_certificates,
)
from ingress2nginx.apply.trials import render_validated
from ingress2nginx.cli import exit_codes
from ingress2nginx.cli.options import load_from_cluster
from ingress2nginx.core.codes import Code
from ingress2nginx.core.collecting import collector_paused
from ingress2nginx.core.errors import OutputWriteError, Problem, Severity, SourceError, shown
from ingress2nginx.core.grammar import is_dns1123_label
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.gateway.matching import path_type_name
from ingress2nginx.normalize.normalizing import Translation, Translator, normalize
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.report.explaining import explain_request
from ingress2nginx.report.gateway_migrating import gateway_api_objects
from ingress2nginx.report.linting import lint
from ingress2nginx.report.migrating import migration_report
from ingress2nginx.report.other_controllers import foreign_problems
from ingress2nginx.report.reporting import as_json, fails, github_lines, text_lines, wants_colour
from ingress2nginx.sources.loading import (
    SOURCE_FAILURES,
    STDIN,
    STDIN_NAME,
    LoadResult,
    load_sources,
)
from ingress2nginx.sources.locating import field_line
from ingress2nginx.sources.pooling import default_workers

SLOW_SECONDS = 1.0
"""Loading that takes longer than this gets a progress line on terminals."""


def load(args: argparse.Namespace, settings: Settings) -> LoadResult:
    """Read the sources the command line names (or the API with --from-cluster)."""
    started = time.monotonic()
    progress = sys.stderr.isatty() and not args.quiet
    if progress:
        print("reading…", end="\r", file=sys.stderr, flush=True)
    if getattr(args, "from_cluster", False):
        loaded = load_from_cluster(args, settings)
    else:
        sources = args.sources or ["-"]
        workers = default_workers()
        loaded = load_sources(sources, stdin=sys.stdin, unreadable="report", workers=workers)
    if progress:
        elapsed = time.monotonic() - started
        done = f"read {len(loaded.manifests)} objects in {elapsed:.1f} s"
        print(done if elapsed > SLOW_SECONDS else " " * 12, end="\n" if elapsed > SLOW_SECONDS
              else "\r", file=sys.stderr, flush=True)  # fmt: skip
    return loaded


def translate(
    args: argparse.Namespace, settings: Settings
) -> tuple[Translation, list[Problem], Inventory]:
    """Load and normalize; returns the translation, the loading problems and the inventory.

    The garbage collector is paused meanwhile, and what it made frozen (collecting.py)."""
    with collector_paused(freeze=True):
        loaded = load(args, settings)
        inventory = Inventory.build(loaded.manifests)
        problems = [*loaded.problems, *_no_ingress(args, inventory, loaded.problems)]
        return normalize(inventory, settings), problems, inventory


def _no_ingress(
    args: argparse.Namespace, inventory: Inventory, problems: Sequence[Problem]
) -> list[Problem]:
    """A warning when the input holds no Ingress (nor HTTPRoute) at all (a wrong file, an
    empty folder): the config would only answer 404. Not when a source failed: that error
    says why already."""
    routes = inventory.gateway.get("HTTPRoute") or inventory.gateway.get("GRPCRoute")
    if inventory.ingresses or routes or source_failed(problems):
        return []
    if getattr(args, "from_cluster", False):
        where = "Kubernetes API"
    else:
        names = [STDIN_NAME if source == STDIN else source for source in args.sources or ["-"]]
        where = ", ".join(names) if len(names) <= 3 else f"{len(names)} sources"
    reason = "holds no Ingress: the config only answers 404 (or the default backend)"
    where = where if where.isprintable() else shown(where)
    return [Problem(Severity.WARNING, where, "", reason, Code.NO_INGRESS)]


def source_failed(problems: Iterable[Problem]) -> bool:
    """Whether part of the input could not be read or parsed (exit code 3)."""
    return any(problem.code in SOURCE_FAILURES for problem in problems)


def _exit_code(problems: Iterable[Problem]) -> int:
    return exit_codes.SOURCE if source_failed(problems) else exit_codes.OK


def report(problems: Sequence[Problem], quiet: bool) -> None:
    """Print problems on stderr, one a line (coloured on terminals); notes only when not quiet."""
    shown = [p for p in problems if not quiet or p.severity >= Severity.WARNING]
    for line in text_lines(shown, colour=wants_colour(sys.stderr)):
        print(line, file=sys.stderr)


def run_render(args: argparse.Namespace, settings: Settings) -> int:
    """``render``: write nginx.conf for the Ingresses to stdout or -o FILE (or compare)."""
    translation, load_problems, inventory = translate(args, settings)
    report([*load_problems, *translation.problems], args.quiet)
    if source_failed(load_problems) and not inventory.ingresses:
        kept = f"{args.output} is left as it was" if args.output else "nothing is printed"
        print(f"error: no Ingress was loaded and a source failed: {kept}", file=sys.stderr)
        return exit_codes.SOURCE
    renderer = Renderer(settings)
    if args.diff or args.check:
        text = renderer.render(translation.config)
        return _compare(text, args.diff or args.check, show=bool(args.diff))
    make_runtime_dir(settings.runtime_dir)
    certificates_written = start_writing_certificates(translation.config, settings.cert_dir)
    text = renderer.render(translation.config, workers=default_workers())
    certificates_written()
    refused: list[Problem] = []
    if args.validate:
        translator = Translator(settings)
        text, translation, refused = render_validated(
            inventory, translation, text, translator, renderer
        )
        report(refused, args.quiet)
        write_certificates(translation.config, settings.cert_dir)
        if not args.quiet:
            print(f"note: the config passed {validator_name()}", file=sys.stderr)
    if args.output:
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if refused:
        return exit_codes.INPUT_LEFT_OUT
    return _exit_code(load_problems)


def validator_name() -> str:
    """What ``render --validate`` checks with: ``nginx -t``, else crossplane."""
    return "nginx -t" if find_nginx() else "crossplane"


def write_output(path: Path, text: str) -> None:
    """`-o FILE`, atomically; `OutputWriteError` names the file and the reason."""
    try:
        write_atomically(path, text)
    except OSError as error:
        raise OutputWriteError(f"cannot write {path}: {error.strerror or error}") from error


def _compare(text: str, existing: Path, show: bool) -> int:
    """``--diff``/``--check``: the unified diff against `existing`; 1 when it would change."""
    try:
        before = existing.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    if before == text:
        return exit_codes.OK
    if show:
        sys.stdout.writelines(difflib.unified_diff(
            before.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=str(existing), tofile="rendered",
        ))  # fmt: skip
    return exit_codes.PROBLEMS


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """``check``: every problem render would report, plus shadowed paths, missing Services and
    expiring certificates; exit 1 when one reaches --fail-on."""
    translation, load_problems, inventory = translate(args, settings)
    Renderer(settings).render(translation.config)
    problems = [
        *load_problems,
        *translation.problems,
        *lint(inventory, translation.config, args.warn_expiry),
        *foreign_problems(translation.served),
    ]
    threshold = Severity.ERROR if args.fail_on == "error" else Severity.WARNING
    failed = fails(problems, threshold)
    origins = {
        (manifest.kind, manifest.namespace, manifest.name): manifest.origin
        for manifest in _all_manifests(inventory)
    }
    shown = [p for p in problems if not args.quiet or p.severity >= Severity.WARNING]
    if args.format == "json":
        summary = {"served": len(translation.served), "failed": failed}
        print(as_json(shown, summary, origins, field_line))
    elif args.format == "github":
        for line in github_lines(shown, origins, field_line):
            print(line)
    else:
        report(problems, args.quiet)
        routes = {route.origin.key for route in translation.config.routes
                  if route.origin.kind in ("HTTPRoute", "GRPCRoute")}  # fmt: skip
        _check_summary(problems, len(translation.served), failed, args.quiet, sorted(routes))
    if source_failed(load_problems):
        return exit_codes.SOURCE
    return exit_codes.PROBLEMS if failed else exit_codes.OK


def _check_summary(
    problems: Sequence[Problem],
    served: int,
    failed: bool,
    quiet: bool,
    routes: Sequence[tuple[str, str, str]] = (),
) -> None:
    count = sum(1 for problem in problems if problem.severity >= Severity.WARNING)
    kinds = [route[0] for route in routes]
    what = f"{served} Ingress(es)" + "".join(
        f" and {kinds.count(kind)} {kind}(s)"
        for kind in ("HTTPRoute", "GRPCRoute")
        if kind in kinds
    )
    if count:
        print(f"{count} problem(s); {what} would be served", file=sys.stderr)
    elif not quiet:
        print(f"ok: {what} served, no problems", file=sys.stderr)


def _all_manifests(inventory: Inventory) -> list[Manifest]:
    found: list[Manifest] = [*inventory.ingresses, *inventory.ingress_classes.values()]
    found += [*inventory.services.values(), *inventory.endpoints.values()]
    found += [*inventory.secrets.values()]
    found += [item for slices in inventory.endpoint_slices.values() for item in slices]
    return found


def run_explain(args: argparse.Namespace, settings: Settings) -> int:
    """``explain``: the routing table, or for ``--request URL`` which location answers, why."""
    translation, load_problems, _ = translate(args, settings)
    report([*load_problems, *translation.problems], quiet=True)
    config = translation.config
    if args.request:
        answer = explain_request(config, args.request)
        print(f"request:  {args.request}")
        print(f"server:   {answer.server.host or '(default server)'}")
        print(f"location: {answer.location.match.value or '(prefix)'} {answer.location.path}")
        print(f"source:   {answer.origin or '(no rule: the default answer)'}")
        print(f"answer:   {answer.outcome}")
        for step in answer.steps:
            print(f"  because {step}")
        return _exit_code(load_problems)
    rows = [("HOST", "PATH", "TYPE", "BACKEND", "SOURCE")]
    for route in config.routes:
        rows.append((route.host or "*", route.path, path_type_name(route), route.backend,
                     str(route.origin)))  # fmt: skip
    for server in config.servers:
        root = next(loc for loc in server.locations if loc.path == "/" and not loc.match)
        if root.origin is None or root.origin.field == "spec.defaultBackend":
            backend = _describe_action(root.action)
            source = str(root.origin) if root.origin else "-"
            rows.append((server.host or "*", "(default)", "-", backend, source))
    rows = [rows[0], *[row for row in rows[1:] if _wanted(row, args.host, args.path)]]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip())
    return _exit_code(load_problems)


def _wanted(row: tuple[str, ...], host: str | None, path: str | None) -> bool:
    return (host is None or row[0] == host) and (path is None or row[1].startswith(path))


def _describe_action(action: object) -> str:
    service = getattr(action, "service", None)
    if isinstance(service, str):
        return service
    return str(getattr(action, "status", "?"))


def run_migration_report(args: argparse.Namespace, settings: Settings) -> int:
    """``migration-report``: Markdown for people leaving ingress-nginx."""
    translation, load_problems, inventory = translate(args, settings)
    report(load_problems, args.quiet)
    if args.to_gateway_api:
        text = _to_gateway_api(args, settings, translation, inventory)
    else:
        configmap = _read_configmap(args.configmap) if args.configmap else None
        text = migration_report(
            inventory, translation.problems, translation.served, settings, configmap
        )
    if args.output:
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
    return _exit_code(load_problems)


def _to_gateway_api(
    args: argparse.Namespace, settings: Settings, translation: Translation, inventory: Inventory
) -> str:
    """The Gateway API objects routing as the served Ingresses do, as YAML; what is left out
    on stderr."""
    if not is_dns1123_label(args.gateway_namespace):
        raise SourceError("--gateway-namespace", f"not a namespace: {args.gateway_namespace!r}")
    objects, notes = gateway_api_objects(translation, inventory, settings, args.gateway_namespace)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return yaml.safe_dump_all(objects, sort_keys=False)


def _read_configmap(path: Path) -> dict[str, object]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SourceError(str(path), f"cannot read the ConfigMap: {error}") from error
    if isinstance(document, dict) and document.get("kind") == "ConfigMap":
        document = document.get("data") or {}
    if not isinstance(document, dict):
        raise SourceError(str(path), "not a ConfigMap or a mapping of options")
    return document
