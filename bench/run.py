"""The standard bench (SPEC §8, issue 9): is the translator ever the slow part of a reload?

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
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(REPO)]  # this checkout, installed or not

import generate  # noqa: E402

from ingress2nginx.applying import write_atomically, write_certificates  # noqa: E402
from ingress2nginx.errors import Problem, Severity  # noqa: E402
from ingress2nginx.loading import ParseCache, load_sources  # noqa: E402
from ingress2nginx.normalizing import Translation, normalize  # noqa: E402
from ingress2nginx.objects import Inventory, Manifest  # noqa: E402
from ingress2nginx.rendering import Renderer  # noqa: E402
from ingress2nginx.settings import Settings  # noqa: E402
from ingress2nginx.validating import validate_ingress  # noqa: E402

TEMPLATES = REPO / "templates"
"""This checkout's templates, whichever copy of the package is installed."""
DEFAULT_SIZES = (100, 1_000, 10_000)
TARGETS = {
    "total/nginx-t": 0.5,
    "peak RSS MB": 300.0,
    "bytes/location": 200.0,
    "incremental/nginx-t": 0.1,
}
"""SPEC §8 on the 10,000 bench: the figure must be at most this."""
NGINX_WAIT_SECONDS = 300.0


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
    cli_peak_rss_mb: float | None = None
    cli_matches: bool | None = None
    load_average: list[float] = dataclasses.field(default_factory=list)
    """The machine's 1-minute load average when the measuring process started and ended."""

    @property
    def ratios(self) -> dict[str, float | None]:
        """The headline figures: translator time over ``nginx -t`` time of the same output.
        total/nginx-t is the median of the paired runs' ratios (noise hits both alike)."""
        nginx_t = self.nginx_t or None
        pairs = zip(self.total_runs, self.nginx_t_runs, strict=False)
        paired = [total / check for total, check in pairs if check]
        return {
            "total/nginx-t": statistics.median(paired) if paired else None,
            "render/nginx-t": self.render / nginx_t if nginx_t else None,
            "incremental/nginx-t": self.incremental / nginx_t if nginx_t else None,
            "watch/nginx-t": self.incremental_watch / nginx_t if nginx_t else None,
            "cli/nginx-t": self.cli / nginx_t if nginx_t and self.cli else None,
        }

    def as_json(self) -> dict[str, Any]:
        """Every field, plus the ratios."""
        return {**dataclasses.asdict(self), "ratios": self.ratios}


# --- the parent: generate, run each size in a fresh process, report ------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``--child`` runs one measurement (internal)."""
    args = _parser().parse_args(argv)
    if args.child:
        return _child(args)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size]
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    nginx = None if args.no_nginx else _find_nginx(args.nginx)
    results: list[Result] = []
    for size in sizes:
        started = time.perf_counter()
        folder = generate.ensure_cluster(size, args.seed, args.out, formats)
        _progress(f"n={size}: cluster in {folder} ({time.perf_counter() - started:.1f} s)")
        for fmt in formats:
            result = _measure(folder / fmt, size, fmt, nginx, args)
            if result is not None:
                results.append(result)
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
    source: Path, size: int, fmt: str, nginx: str | None, args: argparse.Namespace
) -> Result | None:
    """One size and format, in a scratch folder of its own."""
    scratch = Path(tempfile.mkdtemp(prefix=f"i2n-bench-{size}-{fmt}-"))
    scratch.chmod(0o755)  # nginx workers (nobody) must reach the prefix
    try:
        inputs = scratch / "input"
        inputs.mkdir()
        for file in sorted(source.iterdir()):
            (inputs / file.name).symlink_to(file)
        ports = f"{_free_port()},{_free_port()}"
        cli = None
        if not args.no_cli and args.profile is None:
            cli = _run_cli(inputs, scratch, ports)
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
        _progress(f"n={size} {fmt}: measuring")
        child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if child.returncode != 0:
            _progress(f"n={size} {fmt}: the measuring process failed ({child.returncode})")
            return None
        if args.profile is not None:
            return None
        result = Result(**json.loads(child.stdout.splitlines()[-1]))
        if cli is not None:
            result.cli, result.cli_peak_rss_mb, digest = cli
            result.cli_matches = digest == result.output_sha256
        return result
    finally:
        if args.keep:
            _progress(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _run_cli(inputs: Path, scratch: Path, ports: str) -> tuple[float, float, str] | None:
    """``ingress2nginx render`` end to end: (seconds, peak RSS MB, sha256 of the output)."""
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
        _progress(f"the CLI failed ({process.returncode}); see {scratch / 'cli.stderr'}")
        return None
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return seconds, usage.ru_maxrss / 1024, digest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _find_nginx(explicit: str | None) -> str | None:
    return explicit or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the child: one size and format, in a fresh process ------------------------------------


def _child(args: argparse.Namespace) -> int:
    http, https = (int(port) for port in args.ports.split(","))
    run = args.scratch / "run"
    settings = Settings(
        http_port=http,
        https_port=https,
        listen_address="127.0.0.1",
        runtime_dir=run,
        cert_dir=run / "certs",
        resolver=("127.0.0.1",),
        template_dir=TEMPLATES,
    )
    if args.profile is not None:
        _profile(args, settings)
        return 0
    result = Result(size=args.size, format=args.format, load_average=[os.getloadavg()[0]])
    result.input_bytes = sum(path.stat().st_size for path in args.input.iterdir())
    state = _full(args, settings, result)
    edited = _incremental(args, settings, state, result)
    if result.nginx_t is not None and not args.no_reload:
        _reload(args.nginx, run, edited, http, result)
    result.load_average.append(os.getloadavg()[0])
    print(json.dumps(dataclasses.asdict(result)))
    return 0


@dataclass(slots=True)
class _State:
    """What the full render leaves for the incremental step."""

    text: str
    manifests: list[Manifest]
    cache: ParseCache
    renderer: Renderer


def _full(args: argparse.Namespace, settings: Settings, result: Result) -> _State:
    """The whole pipeline from files, then ``nginx -t`` on its output, `--repeat` times; the
    medians go into `result`."""
    times: dict[str, list[float]] = {"load": [], "build": [], "normalize": [], "render": []}
    state: _State | None = None
    for attempt in range(max(1, args.repeat)):
        cache = ParseCache()
        with _stopwatch(times["load"]):
            loaded = load_sources([str(args.input)], cache=cache)
        with _stopwatch(times["build"]):
            inventory = Inventory.build(loaded.manifests)
        with _stopwatch(times["normalize"]):
            translation = normalize(inventory, settings)
        renderer = Renderer(settings)
        with _stopwatch(times["render"]):
            text = renderer.render(translation.config)
        result.total_runs.append(sum(stage[-1] for stage in times.values()))
        if attempt == 0:
            result.peak_rss_mb = _peak_rss_mb()
            state = _State(text, list(loaded.manifests), cache, renderer)
            problems = [*loaded.problems, *translation.problems]
            _describe(result, text, problems, translation, settings)
            shutil.rmtree(settings.cert_dir, ignore_errors=True)
            started = time.perf_counter()
            write_certificates(translation.config, settings.cert_dir)
            result.write_certificates = time.perf_counter() - started
            started = time.perf_counter()
            for ingress in inventory.ingresses:
                validate_ingress(ingress)
            result.validate = time.perf_counter() - started
            if not args.no_nginx:
                (args.scratch / "run" / "nginx.conf").write_text(text, encoding="utf-8")
        del loaded, inventory, translation, renderer
        if not args.no_nginx and not result.nginx_error:
            _check_with_nginx(args, args.scratch / "run", result)
    for stage, stage_times in times.items():
        setattr(result, stage, statistics.median(stage_times))
    result.total = result.load + result.build + result.normalize + result.render
    if result.nginx_t_runs and not result.nginx_error:
        result.nginx_t = statistics.median(result.nginx_t_runs)
    assert state is not None
    return state


def _describe(
    result: Result,
    text: str,
    problems: list[Problem],
    translation: Translation,
    settings: Settings,
) -> None:
    """Counts and sizes of one full render."""
    config = translation.config
    result.warnings = sum(1 for p in problems if p.severity is Severity.WARNING)
    result.errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    result.ingresses = len(translation.served)
    result.servers = len(config.servers)
    result.locations = sum(len(server.locations) for server in config.servers)
    result.upstreams = len(config.upstreams)
    result.certificates = len(config.certificates)
    data = text.encode()
    result.output_bytes = len(data)
    result.bytes_per_location = len(data) / max(1, result.locations)
    result.output_sha256 = hashlib.sha256(data).hexdigest()
    masked = text.replace(str(settings.runtime_dir), "RUN")
    masked = masked.replace(f":{settings.http_port}", ":HTTP")
    masked = masked.replace(f":{settings.https_port}", ":HTTPS")
    result.portable_sha256 = hashlib.sha256(masked.encode()).hexdigest()


def _incremental(
    args: argparse.Namespace, settings: Settings, state: _State, result: Result
) -> str:
    """One Ingress edited per round, as watch mode sees it; the medians go into `result`.
    Returns the last edited config."""
    times: dict[str, list[float]] = {
        name: [] for name in ("load", "build", "normalize", "render", "write")
    }
    output = args.scratch / "run" / "incremental.conf"
    text = state.text
    for round_ in range(max(1, args.repeat)):
        ingresses = [m for m in state.manifests if m.kind == "Ingress"]
        target = ingresses[(len(ingresses) // 2 + 37 * round_) % len(ingresses)]
        _edit_file(state.manifests, target, generate.edited_ingress(dict(target.body), round_))
        with _stopwatch(times["load"]):
            loaded = load_sources([str(args.input)], cache=state.cache)
        with _stopwatch(times["build"]):
            inventory = Inventory.build(loaded.manifests)
        with _stopwatch(times["normalize"]):
            translation = normalize(inventory, settings)
        with _stopwatch(times["render"]):
            text = state.renderer.render(translation.config)
        with _stopwatch(times["write"]):
            write_atomically(output, text)
        if text == state.text:
            raise RuntimeError("the edit did not change the config")
        state.manifests, state.text = list(loaded.manifests), text
    for stage, stage_times in times.items():
        setattr(result, f"incremental_{stage}", statistics.median(stage_times))
    result.incremental = (
        result.incremental_build + result.incremental_normalize + result.incremental_render
    )
    result.incremental_watch = result.incremental + result.incremental_load
    result.incremental_watch += result.incremental_write
    return text


def _edit_file(manifests: Sequence[Manifest], target: Manifest, body: dict[str, Any]) -> None:
    """Rewrite the file holding `target` with its body replaced (the file's other objects
    unchanged), replacing the link to the generated file: what ``kubectl apply`` of an edit
    to one Ingress, or a ConfigMap update, does to the watched folder."""
    path = target.origin.rsplit(":", 1)[0]
    bodies = [
        body if manifest is target else manifest.body
        for manifest in manifests
        if manifest.origin.rsplit(":", 1)[0] == path
    ]
    fmt = "json" if path.endswith(".json") else "yaml"
    temporary = f"{path}.edit"
    Path(temporary).write_text(generate.dump(bodies, fmt), encoding="utf-8")
    os.replace(temporary, path)


def _check_with_nginx(args: argparse.Namespace, run: Path, result: Result) -> None:
    """One ``nginx -t`` of ``run/nginx.conf`` in the scratch prefix, the way a sidecar
    validates before it reloads; the certificates are there, so nginx really loads them."""
    config = run / "nginx.conf"
    command = [args.nginx, "-t", "-p", f"{run}/", "-c", str(config), "-e", "stderr"]
    started = time.perf_counter()
    check = subprocess.run(command, capture_output=True, text=True, check=False)
    result.nginx_t_runs.append(time.perf_counter() - started)
    if check.returncode != 0:
        result.nginx_error = check.stderr.strip()[-2000:]
        return
    warnings = {
        re.sub(r"^\d+#\d+: ", "", line.split("] ", 1)[-1])
        for line in check.stderr.splitlines()
        if "[warn]" in line
    }
    result.nginx_warnings = sorted(warnings)


def _reload(nginx: str, run: Path, edited: str, port: int, result: Result) -> None:
    """Start nginx on the output, then reload it to the edited config."""
    config = run / "nginx.conf"
    command = [nginx, "-p", f"{run}/", "-c", str(config), "-e", "stderr", "-g", "daemon off;"]
    workers = os.cpu_count() or 1  # the output says worker_processes auto
    with open(run / "nginx.stderr", "wb") as stderr:
        started = time.perf_counter()
        master = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            if not _wait(lambda: _answers(port), started, master):
                return
            result.nginx_start = time.perf_counter() - started
            if not _wait(lambda: len(_children(master.pid)) >= workers, started, master):
                return
            old = _children(master.pid)
            config.write_text(edited, encoding="utf-8")
            started = time.perf_counter()
            master.send_signal(signal.SIGHUP)
            if not _wait(lambda: len(_children(master.pid) - old) >= workers, started, master):
                return
            result.nginx_reload = time.perf_counter() - started
            if _wait(lambda: not (_children(master.pid) & old), started, master):
                result.nginx_reload_done = time.perf_counter() - started
            result.nginx_rss_mb = _rss_mb(master.pid)
        finally:
            master.send_signal(signal.SIGQUIT)
            try:
                master.wait(timeout=60)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()


def _wait(ready: Callable[[], bool], started: float, process: subprocess.Popen[bytes]) -> bool:
    while time.perf_counter() - started < NGINX_WAIT_SECONDS:
        if process.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.002)
    return False


def _answers(port: int) -> bool:
    """Whether nginx answers HTTP on the port (a Host no rule names: the catch-all's 404)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(
                b"GET / HTTP/1.1\r\nHost: bench.invalid\r\nConnection: close\r\n\r\n"
            )
            return connection.recv(16).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (zombies excluded)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.add(int(entry))
    return found


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _stopwatch(times: list[float]) -> Iterator[None]:
    """Append the seconds the block took to `times`."""
    started = time.perf_counter()
    yield
    times.append(time.perf_counter() - started)


# --- profiling -----------------------------------------------------------------------------


def _profile(args: argparse.Namespace, settings: Settings) -> None:
    """One run of each stage under pyinstrument; a text report per stage in --profile DIR."""
    from pyinstrument import Profiler  # only needed here: pip install pyinstrument

    folder: Path = args.profile
    folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        profiler = Profiler(interval=0.0005)
        profiler.start()
        yield
        profiler.stop()
        report = profiler.output_text(unicode=False, color=False, show_all=False)
        (folder / f"{name}.txt").write_text(report, encoding="utf-8")
        _progress(f"profile: {folder / f'{name}.txt'}")

    cache = ParseCache()
    with stage("load"):
        loaded = load_sources([str(args.input)], cache=cache)
    with stage("build"):
        inventory = Inventory.build(loaded.manifests)
    with stage("validate"):
        for ingress in inventory.ingresses:
            validate_ingress(ingress)
    with stage("normalize"):
        translation = normalize(inventory, settings)
    renderer = Renderer(settings)
    with stage("render"):
        renderer.render(translation.config)
    target = next(m for m in loaded.manifests if m.kind == "Ingress")
    _edit_file(loaded.manifests, target, generate.edited_ingress(dict(target.body), 0))
    with stage("incremental"):
        loaded = load_sources([str(args.input)], cache=cache)
        translation = normalize(Inventory.build(loaded.manifests), settings)
        renderer.render(translation.config)


# --- the report ----------------------------------------------------------------------------


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
    nginx = _find_nginx(None)
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
            "N", "input", "bytes", "locations", "B/location", "nginx -t", "total/-t",
            "render/-t", "incremental", "incr/-t", "watch update", "nginx start",
            "reload", "nginx RSS MB",
        ),
        _row(*["---"] * 14),
    ]  # fmt: skip
    for r in results:
        ratios = r.ratios
        lines.append(
            _row(
                f"{r.size:,}", r.format, f"{r.output_bytes:,}", f"{r.locations:,}",
                f"{r.bytes_per_location:.0f}", _s(r.nginx_t), _f(ratios["total/nginx-t"]),
                _f(ratios["render/nginx-t"]), _s(r.incremental),
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
                notes.append(f"- targets at n={r.size:,} {r.format}: " + _verdict(r))
    return notes


def _verdict(result: Result) -> str:
    figures = {
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


if __name__ == "__main__":
    sys.exit(main())
