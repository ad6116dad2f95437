"""How nginx is told to load a new config, and how the watcher knows it did.

A reload is asked for by a command (``--reload-command``, `CommandReloader`) or by SIGHUP to
the master process named in nginx's pid file (`SignalReloader`, `master_pid`). Asking is not
knowing: nginx answers the status endpoint with the identity of the config it runs
(`StatusEndpoint`), so the apply pipeline (reloading.py) waits for the new identity before
it calls a reload done. A failure says which step failed (`Step`, `ApplyError`).
"""

from __future__ import annotations

import enum
import http.client
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingress2nginx.apply.validators import run_command, tail
from ingress2nginx.core.errors import Ingress2NginxError
from ingress2nginx.render.rendering import STATUS_ADDRESS, STATUS_PATH

CONFIRM_POLL_SECONDS = 0.05


class Step(enum.StrEnum):
    """Pipeline steps that can fail, as named in logs and metrics."""

    RENDER = "render"
    CERTIFICATES = "certificates"
    VALIDATE = "validate"
    INSTALL = "install"
    RELOAD = "reload"
    CONFIRM = "confirm"


class ApplyError(Ingress2NginxError):
    """One step of the pipeline failed; `step` says which."""

    def __init__(self, step: Step, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class Reloader(Protocol):
    """Makes nginx read the output again. Returns whether nginx was told (False: not running
    yet, it will read the file when it starts); raises `ApplyError` when reloading failed."""

    def reload(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CommandReloader:
    """A user command (``$CONFIG`` in its environment names the output); exit 0 = done."""

    command: str
    output: Path

    def reload(self) -> bool:
        try:
            result = run_command(self.command, self.output)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ApplyError(Step.RELOAD, f"could not run the reload command: {error}") from error
        if result.returncode != 0:
            output = tail(result.stderr or result.stdout)
            raise ApplyError(
                Step.RELOAD, f"the reload command exited {result.returncode}: {output}"
            )
        return True


@dataclass(frozen=True, slots=True)
class SignalReloader:
    """SIGHUP to the nginx master whose pid the pid file holds."""

    pid_file: Path

    def reload(self) -> bool:
        pid = master_pid(self.pid_file)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            return False
        except OSError as error:
            raise ApplyError(Step.RELOAD, f"cannot signal nginx (pid {pid}): {error}") from error
        return True


def master_pid(pid_file: Path) -> int | None:
    """The live nginx master named by the pid file, or None (no file, stale, not nginx)."""
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if pid <= 1:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user: the SIGHUP will tell
    try:  # a stale pid file may name an unrelated process now: never signal that one
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc to ask: trust the pid file
    return pid if b"nginx" in command_line else None


@dataclass(frozen=True, slots=True)
class StatusEndpoint:
    """nginx's loopback status server (watch mode's template adds it), which answers the
    identity of the config its workers run."""

    port: int
    timeout: float = 10.0
    """How long to wait for the new identity after a reload."""

    def current(self) -> str | None:
        """The identity nginx answers now; None when it does not answer."""
        connection = http.client.HTTPConnection(STATUS_ADDRESS, self.port, timeout=1.0)
        try:
            connection.request("GET", STATUS_PATH, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read(256).decode("ascii", "replace").strip()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()
        return body if response.status == 200 else None

    def wait_for(self, identity: str, stop: threading.Event) -> None:
        """Return once nginx answers `identity`; `ApplyError` after the timeout."""
        deadline = time.monotonic() + self.timeout
        seen = None
        while not stop.is_set():
            seen = self.current()
            if seen == identity:
                return
            if time.monotonic() >= deadline:
                break
            stop.wait(CONFIRM_POLL_SECONDS)
        if stop.is_set():
            raise ApplyError(Step.CONFIRM, "abandoned: the watcher is stopping")
        where = f"{STATUS_ADDRESS}:{self.port}"
        if seen is None:
            reason = (
                f"nginx did not answer on {where} within {self.timeout:g}s (not running?);"
                " if no nginx runs this config's status server here, --status-port 0 applies"
                " without confirming"
            )
        else:
            reason = (
                f"nginx still runs config {seen[:12]} {self.timeout:g}s after the reload: it"
                " refused the new one when loading it (see nginx's error log)"
            )
        raise ApplyError(Step.CONFIRM, reason)


# --- the pipeline ----------------------------------------------------------------------------
