"""The bench's figures for one size and input format, and the report printed from them.

`Result` is what a measuring process (measuring.py) sends back as JSON; `format_report`
lays a run's results out as Markdown tables with the verdict on the targets
(nginx_runs.py, docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_runs import find_nginx

TARGETS = {
    "CLI/nginx-t": 0.5,
    "CLI peak RSS MB": 300.0,
    "total/nginx-t": 0.5,
    "peak RSS MB": 300.0,
    "bytes/location": 200.0,
    "incremental/nginx-t": 0.1,
}


@dataclass(slots=True)
class Result:
    """One size and input format: every figure the bench reports (seconds unless named)."""

    size: int
    format: str
    ingresses: int = 0
    servers: int = 0
    locations: int = 0
    upstreams: int = 0
    certificates: int = 0
    warnings: int = 0
    errors: int = 0
    input_bytes: int = 0
    load: float = 0.0
    build: float = 0.0
    normalize: float = 0.0
    validate: float = 0.0
    """Validating every Ingress, timed in a separate pass: a part of normalize."""
    render: float = 0.0
    total: float = 0.0
    write_certificates: float = 0.0
    peak_rss_mb: float = 0.0
    output_bytes: int = 0
    bytes_per_location: float = 0.0
    output_sha256: str = ""
    portable_sha256: str = ""
    """Of the output with the scratch folder and ports masked: equal across input formats."""
    nginx_t: float | None = None
    total_runs: list[float] = dataclasses.field(default_factory=list)
    nginx_t_runs: list[float] = dataclasses.field(default_factory=list)
    """Each full render was followed by an ``nginx -t``: paired runs, paired ratios."""
    nginx_warnings: list[str] = dataclasses.field(default_factory=list)
    nginx_error: str = ""
    incremental_load: float = 0.0
    incremental_build: float = 0.0
    incremental_normalize: float = 0.0
    incremental_render: float = 0.0
    incremental_write: float = 0.0
    incremental: float = 0.0
    """Index + normalize + render after one edit (the translator's own share)."""
    incremental_watch: float = 0.0
    """The whole watch-mode update: cached load + incremental + atomic write."""
    nginx_start: float | None = None
    nginx_reload: float | None = None
    """SIGHUP until the new workers (of the edited config) are up."""
    nginx_reload_done: float | None = None
    """SIGHUP until the old workers are gone."""
    nginx_rss_mb: float | None = None
    cli: float | None = None
    """``render DIR -o FILE`` end to end, as CI runs it (median of `cli_runs`)."""
    cli_peak_rss_mb: float | None = None
    """The largest peak RSS of one process of the CLI run (its parse workers included)."""
    cli_matches: bool | None = None
    cli_runs: list[float] = dataclasses.field(default_factory=list)
    cli_nginx_t_runs: list[float] = dataclasses.field(default_factory=list)
    """Each CLI run was followed by an ``nginx -t`` of its output: paired ratios."""
    load_average: list[float] = dataclasses.field(default_factory=list)
    """The machine's 1-minute load average when the measuring process started and ended."""

    @property
    def ratios(self) -> dict[str, float | None]:
        """The headline figures: translator time over ``nginx -t`` time of the same output.
        total/nginx-t is the median of the paired runs' ratios (noise hits both alike)."""
        nginx_t = self.nginx_t or None
        pairs = zip(self.total_runs, self.nginx_t_runs, strict=False)
        paired = [total / check for total, check in pairs if check]
        cli_pairs = zip(self.cli_runs, self.cli_nginx_t_runs, strict=False)
        cli_paired = [cli / check for cli, check in cli_pairs if check]
        return {
            "total/nginx-t": statistics.median(paired) if paired else None,
            "render/nginx-t": self.render / nginx_t if nginx_t else None,
            "incremental/nginx-t": self.incremental / nginx_t if nginx_t else None,
            "watch/nginx-t": self.incremental_watch / nginx_t if nginx_t else None,
            "cli/nginx-t": statistics.median(cli_paired) if cli_paired else None,
        }

    def as_json(self) -> dict[str, Any]:
        """Every field, plus the ratios."""
        return {**dataclasses.asdict(self), "ratios": self.ratios}


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()[0].split()[1]
        ram = f"{int(memory) / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "?"
    nginx = find_nginx(None)
    version = "none"
    if nginx:
        probe = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
        version = probe.stderr.strip().removeprefix("nginx version: ")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "nginx": version,
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def format_report(results: Sequence[Result], host: dict[str, str]) -> str:
    """The tables (Markdown) and the verdict on the targets for the largest size."""
    lines = [
        f"Measured on {host['cpu']}, {host['cores']} cores, {host['ram']} RAM, "
        f"{host['nginx']}, Python {host['python']}, {host['date']}",
        "",
        "Translator (seconds; medians)",
        "",
        _row(
            "N", "input", "load", "index", "normalize", "(validate)", "render", "total",
            "µs/Ingress", "peak RSS MB", "CLI", "CLI RSS MB",
        ),
        _row(*["---"] * 12),
    ]  # fmt: skip
    for r in results:
        lines.append(
            _row(
                f"{r.size:,}", r.format, _s(r.load), _s(r.build), _s(r.normalize),
                _s(r.validate), _s(r.render), _s(r.total), f"{r.total / r.size * 1e6:.0f}",
                f"{r.peak_rss_mb:.0f}", _s(r.cli), _f(r.cli_peak_rss_mb, "{:.0f}"),
            )
        )  # fmt: skip
    lines += [
        "",
        "Output and nginx (seconds; ratios from the same run)",
        "",
        _row(
            "N", "input", "bytes", "locations", "B/location", "nginx -t", "CLI/-t",
            "total/-t", "render/-t", "incremental", "incr/-t", "watch update", "nginx start",
            "reload", "nginx RSS MB",
        ),
        _row(*["---"] * 15),
    ]  # fmt: skip
    for r in results:
        ratios = r.ratios
        lines.append(
            _row(
                f"{r.size:,}", r.format, f"{r.output_bytes:,}", f"{r.locations:,}",
                f"{r.bytes_per_location:.0f}", _s(r.nginx_t), _f(ratios["cli/nginx-t"]),
                _f(ratios["total/nginx-t"]), _f(ratios["render/nginx-t"]), _s(r.incremental),
                _f(ratios["incremental/nginx-t"]), _s(r.incremental_watch), _s(r.nginx_start),
                _s(r.nginx_reload), _f(r.nginx_rss_mb, "{:.0f}"),
            )
        )  # fmt: skip
    lines += ["", *_notes(results)]
    return "\n".join(lines)


def _notes(results: Sequence[Result]) -> list[str]:
    notes: list[str] = []
    for r in results:
        label = f"n={r.size} {r.format}"
        if r.errors:
            notes.append(f"- {label}: {r.errors} error(s) in the input: check the generator")
        if r.cli_matches is False:
            notes.append(f"- {label}: the CLI wrote other bytes than the library")
        if r.nginx_error:
            notes.append(f"- {label}: nginx -t failed: {r.nginx_error}")
        notes.extend(f"- {label}: nginx -t warns: {warning}" for warning in r.nginx_warnings)
        if r.load_average and max(r.load_average) > (os.cpu_count() or 1):
            busy = "/".join(f"{value:.1f}" for value in r.load_average)
            notes.append(
                f"- {label}: the machine was busy (load average {busy} on {os.cpu_count()}"
                " cores): absolute times are inflated; ratios come from paired runs"
            )
    if results:
        largest = max(r.size for r in results)
        for r in results:
            if r.size == largest:
                bounded = "" if r.size >= 10_000 else " (the targets are set for 10,000)"
                notes.append(f"- targets at n={r.size:,} {r.format}{bounded}: " + _verdict(r))
    return notes


def _verdict(result: Result) -> str:
    figures = {
        "CLI/nginx-t": result.ratios["cli/nginx-t"],
        "CLI peak RSS MB": result.cli_peak_rss_mb,
        "total/nginx-t": result.ratios["total/nginx-t"],
        "peak RSS MB": result.peak_rss_mb,
        "bytes/location": result.bytes_per_location,
        "incremental/nginx-t": result.ratios["incremental/nginx-t"],
    }
    words = []
    for name, limit in TARGETS.items():
        value = figures[name]
        if value is None:
            words.append(f"{name} not measured")
        else:
            verdict = "met" if value <= limit else "NOT met"
            words.append(f"{name} {value:.2f} (≤ {limit:g}: {verdict})")
    return "; ".join(words)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _f(value: float | None, pattern: str = "{:.2f}") -> str:
    return "-" if value is None else pattern.format(value)


def progress(message: str) -> None:
    """A progress line on stderr (the report goes to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
