"""bench/dns_bench.py runs end to end at a tiny size, so it never rots (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "dns_bench.py"


def test_the_dns_bench_measures_records_and_the_responder() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--upstreams", "20", "--seconds", "0.2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for figure in ("records_first_s", "warm_up_s", "srv_qps", "a_qps"):
        assert figure in result.stdout


def test_the_reload_against_dns_bench_runs_both_modes_through_nginx() -> None:
    from test_mainline_nginx import find_mainline_nginx

    nginx = find_mainline_nginx()
    bench = BENCH.parent / "reload_vs_dns.py"
    result = subprocess.run(
        [sys.executable, str(bench), "--nginx", nginx, "--ingresses", "5", "--changes", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "static mode" in result.stdout and "dns mode" in result.stdout
    static, dns = result.stdout.split("dns mode")
    assert "reloads              2" in static and "reloads              0" in dns
