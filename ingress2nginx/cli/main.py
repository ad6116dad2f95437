"""The command line: ``render``, ``check``, ``explain``, ``watch``, ``migration-report`` and
``completion``.

This module assembles the parser and maps errors to exit codes (exit_codes.py), including the
one way every command ends when its reader goes away (``| head``); the options live in
options.py, the one-shot commands in commands.py, watch in sidecar.py.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingress2nginx import __version__
from ingress2nginx.cli import exit_codes
from ingress2nginx.cli.commands import run_check, run_explain, run_migration_report, run_render
from ingress2nginx.cli.options import (
    cluster_options_from,
    settings_from,
    shared_options,
    system_resolvers,
)
from ingress2nginx.cli.sidecar import add_watch_command
from ingress2nginx.core.errors import (
    Ingress2NginxError,
    OutputValidationError,
    OutputWriteError,
    SourceError,
)
from ingress2nginx.core.settings import Settings
from ingress2nginx.report.reporting import FORMATS

__all__ = ["build_parser", "cluster_options_from", "main", "settings_from", "system_resolvers"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ingress2nginx`` command."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, where a closed pipe can be handled, not at exit
    except BrokenPipeError:
        return _output_cut_short()
    return code


def _output_cut_short() -> int:
    """The reader of stdout went away (``... | head``): exit quietly, as Unix tools do.

    stdout is pointed at /dev/null so that Python's own flush at exit does not complain about
    the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is no file (embedded use): nothing will flush to the pipe at exit
    return exit_codes.PIPE_CLOSED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "completion":
        print(completion_script(parser, args.shell))
        return exit_codes.OK
    if _reads_a_terminal(args):
        _subparsers(parser)[args.command].error(
            "no SOURCE given and stdin is a terminal: name files or folders, or pipe"
            " manifests in (- reads stdin)"
        )
    try:
        settings = settings_from(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        return int(args.run(args, settings))
    except OutputValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.INVALID_OUTPUT
    except OutputWriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.OUTPUT
    except (SourceError, Ingress2NginxError) as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.SOURCE
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


def _reads_a_terminal(args: argparse.Namespace) -> bool:
    """A one-shot command with no SOURCE would wait for manifests typed on the terminal."""
    return (
        args.command in _ONE_SHOT
        and not args.sources
        and not getattr(args, "from_cluster", False)
        and sys.stdin is not None
        and sys.stdin.isatty()
    )


_ONE_SHOT = frozenset({"render", "check", "explain", "migration-report"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ingress2nginx",
        description="Translate Kubernetes Ingress resources into a plain, validated nginx.conf.",
        epilog=exit_codes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = shared_options()
    _add_render(commands, shared)
    _add_check(commands, shared)
    _add_explain(commands, shared)
    add_watch_command(commands, shared)
    _add_migration_report(commands, shared)
    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell to complete for")
    return parser


def _command(commands: Any, shared: argparse.ArgumentParser, name: str, help: str) -> Any:
    return commands.add_parser(
        name, parents=[shared], help=help, epilog=exit_codes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip


def _add_render(commands: Any, shared: argparse.ArgumentParser) -> None:
    render = _command(commands, shared, "render", "write nginx.conf for the Ingresses")
    render.add_argument("-o", "--output", type=Path, help="write here (atomically), not stdout")
    render.add_argument(
        "--validate", action="store_true",
        help="check the result with nginx -t (crossplane when nginx is missing) before writing",
    )  # fmt: skip
    compare = render.add_mutually_exclusive_group()
    compare.add_argument(
        "--diff", type=Path, metavar="FILE",
        help="print the unified diff from FILE to the rendered config; write nothing; exit 1"
        " when they differ",
    )  # fmt: skip
    compare.add_argument(
        "--check", type=Path, metavar="FILE",
        help="exit 1 when the rendered config differs from FILE; write nothing",
    )  # fmt: skip
    render.set_defaults(run=run_render)


def _add_check(commands: Any, shared: argparse.ArgumentParser) -> None:
    check = _command(
        commands, shared, "check", "lint the manifests; exit 1 when there are problems"
    )
    check.add_argument(
        "--format", choices=FORMATS, default="text",
        help="text for people, json for tools, github for workflow annotations"
        " (default: %(default)s)",
    )  # fmt: skip
    check.add_argument(
        "--fail-on", choices=("warning", "error"), default="warning",
        help="the least severe problem that fails the check (default: %(default)s)",
    )  # fmt: skip
    check.add_argument(
        "--warn-expiry", type=int, default=30, metavar="DAYS",
        help="warn about certificates expiring within DAYS days (default: %(default)s)",
    )  # fmt: skip
    check.set_defaults(run=run_check)


def _add_explain(commands: Any, shared: argparse.ArgumentParser) -> None:
    explain = _command(commands, shared, "explain", "print the routing table")
    explain.add_argument("--host", metavar="HOST", help="only this host (* for host-less)")
    explain.add_argument("--path", metavar="PATH", help="only paths starting with PATH")
    explain.add_argument(
        "--request", metavar="URL",
        help="say which location answers this request (http(s)://host/path?query) and why",
    )  # fmt: skip
    explain.set_defaults(run=run_explain)


def _add_migration_report(commands: Any, shared: argparse.ArgumentParser) -> None:
    report = _command(
        commands, shared, "migration-report",
        "Markdown for ingress-nginx users: which annotations carry over, differ, are refused",
    )  # fmt: skip
    report.add_argument(
        "--configmap", type=Path, metavar="FILE",
        help="the ingress-nginx controller ConfigMap, to report its keys too",
    )  # fmt: skip
    report.add_argument(
        "--to-gateway-api", action="store_true",
        help="instead of the report, write the Gateway and HTTPRoutes that route as the served"
        " Ingresses do (YAML; what cannot carry over is listed on stderr)",
    )  # fmt: skip
    report.add_argument(
        "--gateway-namespace", default="default", metavar="NS",
        help="with --to-gateway-api: the namespace of the Gateway written (default: %(default)s)",
    )  # fmt: skip
    report.add_argument("-o", "--output", type=Path, help="write here, not stdout")
    report.set_defaults(run=run_migration_report)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """A completion script for `shell`, generated from the parser (no extra dependency)."""
    commands = _subparsers(parser)
    cases = []
    for name, sub in commands.items():
        flags = sorted(flag for action in sub._actions for flag in action.option_strings)
        cases.append(f'        {name}) words="{" ".join(flags)}" ;;')
    names = " ".join(commands)
    body = "\n".join(cases)
    script = f"""_ingress2nginx() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" command="${{COMP_WORDS[1]}}" words
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{names}" -- "$cur")); return
    fi
    case "$command" in
{body}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _ingress2nginx ingress2nginx"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command `args` names (for embedding; `main` also parses and maps errors)."""
    return int(args.run(args, settings))
