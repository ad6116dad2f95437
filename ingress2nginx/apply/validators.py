"""The ways watch mode checks a config file before installing it.

The apply pipeline (reloading.py) writes the new config to a temp file beside the output and
asks a `Validator` about that file, so the check sees the same folder as nginx will (``include``
paths and nginx's conf prefix resolve alike). Three validators exist, chosen in this order:

- `CommandValidator` (``--validate-command CMD``): run through ``/bin/sh -c``; ``{}`` in CMD
  is replaced by the temp file's path (shell-quoted) and ``$CONFIG`` in its environment holds
  it too. Exit 0 accepts. For nginx in another container, e.g.
  ``kubectl exec ... nginx -t -c {}`` or a wrapper script.
- `NginxValidator` (nginx on PATH): ``nginx -t -q -e stderr -p PREFIX -c TEMP``, PREFIX being
  ``--nginx-prefix``, else ``--runtime-dir`` (a config rendered with it runs as ``nginx -p
  RUNTIME_DIR``); with neither, nginx's compiled-in prefix, as when it runs.
- `StructureValidator` (no nginx): crossplane's parser, the one nginx's own tooling uses.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingress2nginx.apply.applying import validate_structure
from ingress2nginx.core.errors import OutputValidationError

COMMAND_TIMEOUT_SECONDS = 60
"""Bound on ``nginx -t``, the validate command and the reload command."""


class Validator(Protocol):
    """Checks a config file; raises `OutputValidationError` with the reason when refused."""

    @property
    def name(self) -> str:
        """How logs call it: ``nginx -t``, ``crossplane``..."""

    def check(self, path: Path) -> None: ...


@dataclass(frozen=True, slots=True)
class NginxValidator:
    """``nginx -t`` on the file where it lies."""

    binary: str
    prefix: Path | None = None
    name: str = "nginx -t"

    def check(self, path: Path) -> None:
        command = [self.binary, "-t", "-q", "-e", "stderr", "-c", str(path)]
        if self.prefix is not None:
            command[1:1] = ["-p", f"{self.prefix}/"]
        _check(command, path, self.name)


@dataclass(frozen=True, slots=True)
class CommandValidator:
    """A user command; ``{}`` in it and ``$CONFIG`` in its environment name the file."""

    command: str
    name: str = "validate command"

    def check(self, path: Path) -> None:
        _check(self.command.replace("{}", shlex.quote(str(path))), path, self.name)


@dataclass(frozen=True, slots=True)
class StructureValidator:
    """crossplane's parser: syntax, contexts and argument counts."""

    name: str = "crossplane"

    def check(self, path: Path) -> None:
        validate_structure(path.read_text(encoding="utf-8"))


def run_command(command: str | list[str], config: Path) -> subprocess.CompletedProcess[str]:
    """Run a command, bounded in time, with ``$CONFIG`` set; a string goes through the shell.

    Raises OSError when it cannot start and `subprocess.TimeoutExpired` when it hangs.
    """
    return subprocess.run(
        command,
        shell=isinstance(command, str),
        env={**os.environ, "CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def tail(output: str, lines: int = 5) -> str:
    """The last lines of a command's output, on one line."""
    return " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])


def _check(command: str | list[str], path: Path, name: str) -> None:
    try:
        result = run_command(command, path)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OutputValidationError(f"could not run {name}: {error}") from error
    if result.returncode != 0:
        output = tail(result.stderr or result.stdout) or f"exit status {result.returncode}"
        raise OutputValidationError(f"{name} refused the config: {output}")
