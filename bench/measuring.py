"""One size and input format, measured in a fresh process (run.py starts it with --child).

A fresh process per size keeps peak RSS honest: no size inherits another's heap. The process
runs the library pipeline as the CLI and the watch loop do (the garbage collector paused as
they pause it: collecting.py), pairs each full render with an ``nginx -t`` of its output,
edits one Ingress at a time for the incremental figures (one long-lived `Translator` and
`Renderer`, as in watch mode), then starts and reloads nginx; it prints its `Result` as one
JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import generate
from figures import Result, progress
from nginx_runs import check_with_nginx, start_and_reload

from ingress2nginx.apply.applying import write_atomically, write_certificates
from ingress2nginx.core.collecting import collector_paused
from ingress2nginx.core.errors import Problem, Severity
from ingress2nginx.core.objects import Inventory, Manifest
from ingress2nginx.core.settings import Settings
from ingress2nginx.normalize.normalizing import Translation, Translator, normalize
from ingress2nginx.normalize.validating import validate_ingress
from ingress2nginx.render.rendering import Renderer
from ingress2nginx.sources.loading import ParseCache, load_sources

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
"""This checkout's templates, whichever copy of the package is installed."""


def set_aside(folder: Path) -> None:
    """Move `folder` out of the way (into ``set-aside/`` beside it) instead of deleting it, so
    that the next cold write into the same path creates its files on a disk with no mass
    deletion just behind it. ext4 skips inodes deleted in the last minute or more when it
    allocates new ones (the journal may still need them), one check per inode skipped: writing
    the 6,000 certificate files right after deleting the previous run's 6,000 cost 2.5-4.2 s of
    kernel time here instead of 0.3 s. A user's render does not delete its folder before each
    run (unchanged files are left alone), and a fresh CI checkout has nothing deleted: the
    bench measures that case. The scratch folder, set-aside runs included, is deleted at the
    end of the bench."""
    if not folder.exists():
        return
    aside = folder.parent / "set-aside"
    aside.mkdir(exist_ok=True)
    folder.rename(aside / f"{folder.name}-{len(list(aside.iterdir()))}")


def child(args: argparse.Namespace) -> int:
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
        start_and_reload(args.nginx, run, edited, http, result)
    result.load_average.append(os.getloadavg()[0])
    print(json.dumps(dataclasses.asdict(result)))
    return 0


@dataclass(slots=True)
class _State:
    """What the full render leaves for the incremental step."""

    text: str
    manifests: list[Manifest]
    cache: ParseCache
    translator: Translator
    renderer: Renderer


def _full(args: argparse.Namespace, settings: Settings, result: Result) -> _State:
    """The whole pipeline from files, then ``nginx -t`` on its output, `--repeat` times; the
    medians go into `result`."""
    times: dict[str, list[float]] = {"load": [], "build": [], "normalize": [], "render": []}
    state: _State | None = None
    for attempt in range(max(1, args.repeat)):
        cache = ParseCache()
        with collector_paused(freeze=True):  # as commands.translate
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
            translator = Translator(settings)  # watch mode's first pass, untimed
            with collector_paused():
                translator.translate(inventory)
            state = _State(text, list(loaded.manifests), cache, translator, renderer)
            problems = [*loaded.problems, *translation.problems]
            _describe(result, text, problems, translation, settings)
            set_aside(settings.cert_dir)
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
            check_with_nginx(args, args.scratch / "run", result)
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
        with collector_paused(freeze=True):  # as Watcher.pass_once
            with _stopwatch(times["load"]):
                loaded = load_sources([str(args.input)], cache=state.cache)
            with _stopwatch(times["build"]):
                inventory = Inventory.build(loaded.manifests)
            with _stopwatch(times["normalize"]):
                translation = state.translator.translate(inventory)
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
        progress(f"profile: {folder / f'{name}.txt'}")

    cache = ParseCache()
    translator = Translator(settings)  # as watch mode: its first pass is a full one
    with collector_paused(freeze=True):  # as commands.translate
        with stage("load"):
            loaded = load_sources([str(args.input)], cache=cache)
        with stage("build"):
            inventory = Inventory.build(loaded.manifests)
        with stage("validate"):
            for ingress in inventory.ingresses:
                validate_ingress(ingress)
        with stage("normalize"):
            translation = translator.translate(inventory)
    renderer = Renderer(settings)
    with stage("render"):
        renderer.render(translation.config)
    target = next(m for m in loaded.manifests if m.kind == "Ingress")
    _edit_file(loaded.manifests, target, generate.edited_ingress(dict(target.body), 0))
    with stage("incremental"), collector_paused(freeze=True):  # as Watcher.pass_once
        loaded = load_sources([str(args.input)], cache=cache)
        translation = translator.translate(Inventory.build(loaded.manifests))
        renderer.render(translation.config)
