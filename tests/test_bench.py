"""The benchmark runs end to end at a tiny size, so bench/ never rots (no timing asserted).

bench/run.py is run as a user runs it, in a subprocess, at N=20 with one repeat; the tests
check that every stage produced figures, that the generated input is valid and deterministic,
and that the CLI, the library and both input formats agree on the output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SIZE = 20


def run_bench(out: Path, *options: str) -> tuple[dict[str, Any], str]:
    """Run bench/run.py at N=20 into `out`; its JSON figures and its printed report."""
    figures = out / "bench.json"
    command = [
        sys.executable,
        str(BENCH / "run.py"),
        f"--sizes={SIZE}",
        "--repeat=1",
        f"--out={out / 'clusters'}",
        f"--json={figures}",
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(figures.read_text(encoding="utf-8")), done.stdout


def test_the_bench_measures_every_stage_for_both_input_formats(tmp_path: Path) -> None:
    payload, report = run_bench(tmp_path, "--no-nginx")
    results = payload["results"]
    assert [(r["size"], r["format"]) for r in results] == [(SIZE, "yaml"), (SIZE, "json")]
    for result in results:
        assert result["ingresses"] == SIZE
        assert result["errors"] == 0
        assert result["locations"] > 3 * SIZE
        assert result["certificates"] > 0
        for stage in ("load", "normalize", "render", "total", "incremental"):
            assert result[stage] > 0, stage
        assert result["peak_rss_mb"] > 0
        assert result["cli_matches"] is True
        assert result["nginx_t"] is None
    assert results[0]["portable_sha256"] == results[1]["portable_sha256"]
    assert f"| {SIZE} | yaml |" in report
    assert payload["machine"]["python"]


@pytest.mark.nginx
def test_the_bench_runs_nginx_on_its_output_and_reloads_it(tmp_path: Path) -> None:
    payload, report = run_bench(tmp_path, "--formats=json", "--no-cli")
    (result,) = payload["results"]
    assert result["nginx_error"] == ""
    assert result["nginx_t"] > 0
    assert result["ratios"]["total/nginx-t"] > 0
    assert result["nginx_start"] > 0
    assert result["nginx_reload"] > 0
    assert "targets at n=20 json" in report


@pytest.mark.nginx
def test_the_bench_pairs_each_cli_run_with_nginx_t_of_its_output(tmp_path: Path) -> None:
    payload, report = run_bench(tmp_path, "--formats=yaml", "--no-reload", "--repeat=2")
    (result,) = payload["results"]
    assert len(result["cli_runs"]) == len(result["cli_nginx_t_runs"]) == 2
    assert result["cli_matches"] is True
    assert result["ratios"]["cli/nginx-t"] > 0
    assert result["cli_peak_rss_mb"] > 0
    assert "CLI/nginx-t" in report and "CLI peak RSS MB" in report


def test_the_generated_cluster_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import generate
    finally:
        sys.path.remove(str(BENCH))
    first = generate.ensure_cluster(SIZE, out=tmp_path / "a", formats=("yaml",))
    second = generate.ensure_cluster(SIZE, out=tmp_path / "b", formats=("yaml",))
    files = sorted(path.name for path in (first / "yaml").iterdir())
    assert files == ["cluster.yaml", "team-000.yaml"]
    for name in files:
        assert (first / "yaml" / name).read_bytes() == (second / "yaml" / name).read_bytes()
