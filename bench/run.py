"""The standard bench (issue 9): is the translator ever the slow part of a reload?

For each size (default 100, 1,000, 10,000 Ingresses) and input format (YAML, JSON), in one
run, on the same generated cluster (bench/generate.py):

- the library pipeline stage by stage: load, index (``Inventory.build``), normalize (of which
  validation, timed in a separate pass), render, and their total; peak RSS after a full render
  (VmHWM of a fresh process per size, so sizes do not inherit each other's heap);
- the CLI end to end (``ingress2nginx render DIR -o FILE``: interpreter start, certificates
  written), with its peak RSS, and a check that it writes the library's bytes;
- the output: bytes, locations, bytes per location;
- ``nginx -t`` on that output, in a scratch prefix with the certificates written, so it really
  loads them; the headline ratios total/``nginx -t`` and render/``nginx -t``;
- an incremental update as watch mode does it: one Ingress edited in one file, then cached load
  (`ParseCache`), index, normalize, render with the warm `Renderer`, atomic write;
- nginx itself on the output (high loopback ports): cold start until it answers, then a
  reload to the edited config (SIGHUP until new workers are up, and until old ones are gone),
  and the master's RSS.

Timings are medians of ``--repeat`` runs; ratios come from the same run, since machines are
noisy. ``--profile DIR`` instead writes a pyinstrument report per stage.

Run: ``python bench/run.py`` (minutes at 10,000), ``python bench/run.py --sizes 100,1000
--formats json --json /tmp/bench.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(REPO)]  # this checkout, installed or not

import generate  # noqa: E402
from figures import Result, format_report, machine, progress  # noqa: E402
from measuring import TEMPLATES, child, set_aside  # noqa: E402
from nginx_runs import find_nginx  # noqa: E402

DEFAULT_SIZES = (100, 1_000, 10_000)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``--child`` runs one measurement (internal)."""
    args = _parser().parse_args(argv)
    if args.child:
        return child(args)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size]
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    nginx = None if args.no_nginx else find_nginx(args.nginx)
    results: list[Result] = []
    scratches: list[Path] = []  # deleted at the end, not between runs: see measuring.set_aside
    try:
        for size in sizes:
            started = time.perf_counter()
            folder = generate.ensure_cluster(size, args.seed, args.out, formats)
            progress(f"n={size}: cluster in {folder} ({time.perf_counter() - started:.1f} s)")
            for fmt in formats:
                scratches.append(Path(tempfile.mkdtemp(prefix=f"i2n-bench-{size}-{fmt}-")))
                result = _measure(folder / fmt, size, fmt, nginx, args, scratches[-1])
                if result is not None:
                    results.append(result)
    finally:
        for scratch in scratches:
            if args.keep:
                progress(f"kept {scratch}")
            else:
                shutil.rmtree(scratch, ignore_errors=True)
    if args.profile is None:
        print(format_report(results, machine()))
    if args.json:
        payload = {"machine": machine(), "results": [result.as_json() for result in results]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="ingress2nginx benchmark", epilog="See bench/README.md."
    )
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="100,1000")
    parser.add_argument("--formats", default="yaml,json", help="input formats: yaml,json")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=generate.DEFAULT_OUT, help="cluster folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--nginx", help="nginx binary (default: from PATH or /usr/sbin)")
    parser.add_argument("--no-nginx", action="store_true", help="skip nginx -t and reload")
    parser.add_argument("--no-reload", action="store_true", help="skip starting nginx")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI run")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="write pyinstrument reports per stage"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    return parser


def _measure(
    source: Path, size: int, fmt: str, nginx: str | None, args: argparse.Namespace, scratch: Path
) -> Result | None:
    """One size and format, in a scratch folder of its own."""
    scratch.chmod(0o755)  # nginx workers (nobody) must reach the prefix
    inputs = scratch / "input"
    inputs.mkdir()
    for file in sorted(source.iterdir()):
        (inputs / file.name).symlink_to(file)
    ports = f"{_free_port()},{_free_port()}"
    cli = None
    if not args.no_cli and args.profile is None:
        cli = _run_cli_paired(inputs, scratch, ports, nginx, args.repeat)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        f"--size={size}",
        f"--format={fmt}",
        f"--input={inputs}",
        f"--scratch={scratch}",
        f"--ports={ports}",
        f"--repeat={args.repeat}",
    ]
    if nginx:
        command.append(f"--nginx={nginx}")
    else:
        command.append("--no-nginx")
    if args.no_reload:
        command.append("--no-reload")
    if args.profile is not None:
        command.append(f"--profile={args.profile / f'n{size}-{fmt}'}")
    progress(f"n={size} {fmt}: measuring")
    child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if child.returncode != 0:
        progress(f"n={size} {fmt}: the measuring process failed ({child.returncode})")
        return None
    if args.profile is not None:
        return None
    result = Result(**json.loads(child.stdout.splitlines()[-1]))
    if cli is not None:
        result.cli_runs, result.cli_nginx_t_runs, result.cli_peak_rss_mb, digest = cli
        result.cli = statistics.median(result.cli_runs)
        result.cli_matches = digest == result.output_sha256
    return result


def _run_cli_paired(
    inputs: Path, scratch: Path, ports: str, nginx: str | None, repeat: int
) -> tuple[list[float], list[float], float, str] | None:
    """The CLI `repeat` times, each run writing its certificates cold and followed by an
    ``nginx -t`` of its output: (CLI seconds, nginx -t seconds, the largest peak RSS MB, sha256
    of the output)."""
    runs: list[float] = []
    checks: list[float] = []
    peak = 0.0
    digest = ""
    for _ in range(max(1, repeat)):
        set_aside(scratch / "run")  # not deleted: see set_aside
        cli = _run_cli(inputs, scratch, ports)
        if cli is None:
            return None
        seconds, rss, digest = cli
        runs.append(seconds)
        peak = max(peak, rss)
        if nginx:
            checks.append(_nginx_t(nginx, scratch / "run", scratch / "cli.conf"))
    return runs, checks, peak, digest


def _nginx_t(nginx: str, run: Path, config: Path) -> float:
    """Seconds of one ``nginx -t`` of `config` in the prefix `run` (as nginx_runs.py does)."""
    command = [nginx, "-t", "-q", "-p", f"{run}/", "-c", str(config), "-e", "stderr"]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - started


def _run_cli(inputs: Path, scratch: Path, ports: str) -> tuple[float, float, str] | None:
    """``ingress2nginx render`` end to end: (seconds, peak RSS MB of its largest process,
    sha256 of the output)."""
    http, https = ports.split(",")
    output = scratch / "cli.conf"
    command = [
        sys.executable,
        "-m",
        "ingress2nginx",
        "render",
        str(inputs),
        "-o",
        str(output),
        "-q",
        f"--runtime-dir={scratch / 'run'}",
        "--listen-address=127.0.0.1",
        f"--http-port={http}",
        f"--https-port={https}",
        "--resolver=127.0.0.1",
        f"--template-dir={TEMPLATES}",
    ]
    python_path = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
    with open(scratch / "cli.stderr", "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, env=environment
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or not output.exists():
        progress(f"the CLI failed ({process.returncode}); see {scratch / 'cli.stderr'}")
        return None
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return seconds, usage.ru_maxrss / 1024, digest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
