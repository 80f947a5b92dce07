"""Smoke run of the benchmark at a tiny scale: it runs, prints every figure, writes RESULTS.md.

One scale, one daily run (``--daily-runs 1``): every stage and every figure of the bench is
exercised once; a smaller ``--scale`` saves nothing (dbt's fixed cost per build dominates).

No timing is asserted (timings belong in bench/RESULTS.md, as ratios against baselines measured
in the same run). The run also checks the incremental dbt build against a full rebuild
(``--verify-rebuild``): after the daily run the published marts must be identical to what
``dbt build --full-refresh`` publishes — a failure there is a correctness bug, not a slow machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "landing_rows_per_s=",
    "copy_rows_per_s=",
    "landing_rows_per_s / copy_rows_per_s = ",
    "full_run_s(scale 0.02) = ",
    "daily_run_s scale 0.02 / scale 0.02 = ",
    "peak_rss_extract_load_mb(scale 0.02) = ",
    "dashboard_query_ms_max(scale 0.02) = ",
    "forecast_beats_baseline_every_horizon = ",
    "incremental_equals_full_rebuild = True",
)


def test_bench_runs_prints_all_figures_and_matches_a_full_rebuild(pg_server: str, tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scale",
            "0.02",
            "--daily-scales",
            "0.02",
            "--daily-runs",  # one daily run: the median of three is a timing device, not a code path
            "1",
            "--verify-rebuild",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for figure in FIGURES:
        assert figure in proc.stdout, f"missing {figure!r} in:\n{proc.stdout}"
    report = out.read_text()
    for section in ("## Targets", "## Stages (seconds)", "- Machine: ", "- Command: `python -m bench"):
        assert section in report
