"""Every command behaves as a Unix tool in a pipeline and on a terminal (issue 15): a reader
that goes away early (``| head``) ends the command quietly, and a command with no SOURCE on a
terminal is a usage error rather than a wait for typed manifests."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import ingress, manifest_text, path, rule, to

ROOT = Path(__file__).parent.parent


def many_hosts(tmp_path: Path) -> str:
    """Manifests every command has much to say about (check: a conflict per host)."""
    rules = [rule(f"host-{n}.test", path("/", to(f"svc-{n}")), path("/api", to("api")))
             for n in range(200)]  # fmt: skip
    source = tmp_path / "many.yaml"
    source.write_text(manifest_text([ingress("big", rules=rules, created="2026-01-01T00:00:00Z"),
                                     ingress("late", rules=rules)]))  # fmt: skip
    return str(source)


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def cut_short(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run the command with stdout a pipe whose reader has gone before the command writes
    (as ``| head`` is gone after its lines; the command needs far longer to start than this
    side needs to close); (exit code, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ingress2nginx", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=environment(),
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read().decode()
    return process.wait(timeout=60), errors


@pytest.mark.parametrize(
    "command",
    [["explain"], ["check", "--format", "json"], ["render", "--diff", "/dev/null"],
     ["render"], ["migration-report"], ["completion", "bash"]],
    ids=lambda command: " ".join(command),
)  # fmt: skip
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, command: list[str]) -> None:
    argv = command if command[0] == "completion" else [*command, many_hosts(tmp_path)]
    code, errors = cut_short(argv, tmp_path)
    whole = subprocess.run(
        [sys.executable, "-m", "ingress2nginx", *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=environment(), timeout=60,
    )  # fmt: skip
    assert code == 141
    assert errors == whole.stderr  # the problems, and nothing about the pipe


def test_a_closed_pipe_ends_the_completion_script_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        f"{sys.executable} -m ingress2nginx completion bash | head -c 1",
        shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
    )  # fmt: skip
    out, errors = process.communicate(timeout=60)
    assert (out, errors, process.returncode) == (b"_", b"", 0)


@pytest.mark.parametrize("command", ["render", "check", "explain", "migration-report"])
def test_no_source_on_a_terminal_is_a_usage_error(tmp_path: Path, command: str) -> None:
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ingress2nginx", command],
            stdin=terminal, capture_output=True, text=True, cwd=tmp_path, env=environment(),
            timeout=60,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: ingress2nginx " + command)
    assert result.stderr.endswith(
        "error: no SOURCE given and stdin is a terminal: name files or folders, or pipe"
        " manifests in (- reads stdin)\n"
    )


def test_no_source_reads_stdin_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ingress2nginx", "explain"],
        input=Path(many_hosts(tmp_path)).read_text(), capture_output=True, text=True,
        cwd=tmp_path, env=environment(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and "host-199.test" in result.stdout
