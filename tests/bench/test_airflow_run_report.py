"""``bench.airflow_run``'s analysis and report on a made-up DAG run (no Airflow, no database).

The measurement itself starts a whole Airflow deployment and a scale-1 warehouse (minutes on
2 cores), so it is run by hand (``python -m bench.airflow_run --scale 1``, docs/performance.md);
this keeps the part that turns ``task_instance`` rows into the RESULTS.md section from rotting:
the critical path, the scheduler / executor / task split, the table and that writing the section
leaves the other sections of RESULTS.md alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.airflow_run import (
    SECTION,
    TaskTiming,
    critical_path,
    publish_ratio,
    ratio,
    render,
    schedule_s,
    summarise,
)
from bench.latency import write_section

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 5, 0, 10, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tasks() -> dict[str, TaskTiming]:
    """prepare → (load_a, load_b) → dbt_build.model → publish; load_b ends last of the two."""
    rows = [
        TaskTiming("prepare", "success", at(1), at(3), at(5)),
        TaskTiming("load_a", "success", at(6), at(8), at(10), ("prepare",)),
        TaskTiming("load_b", "success", at(6), at(9), at(20), ("prepare",)),
        TaskTiming("dbt_build.model", "success", at(22), at(25), at(35), ("load_a", "load_b")),
        TaskTiming("publish", "success", at(36), at(38), at(40), ("dbt_build.model",)),
        TaskTiming("digest", "skipped", None, None, at(39), ("dbt_build.model",)),
    ]
    return {t.task_id: t for t in rows}


def test_critical_path_follows_the_upstream_that_ended_last() -> None:
    assert critical_path(tasks()) == ["prepare", "load_b", "dbt_build.model", "publish"]


def test_time_splits_into_scheduler_executor_and_task() -> None:
    ts = tasks()
    assert schedule_s(ts["prepare"], ts, T0) == 1  # run start → queued
    assert schedule_s(ts["dbt_build.model"], ts, T0) == 2  # load_b's end → queued
    s = summarise(ts, T0, at(41))
    assert s["task_instances"] == 6
    assert s["states"] == {"success": 5, "skipped": 1}
    assert s["path_schedule_s"] == 1 + 1 + 2 + 1
    assert s["path_queue_s"] == 2 + 3 + 3 + 2
    assert s["path_run_s"] == 2 + 11 + 10 + 2
    assert s["path_tail_s"] == 1
    # the critical path and the tail add up to the run's start → end
    assert s["path_schedule_s"] + s["path_queue_s"] + s["path_run_s"] + s["path_tail_s"] == 41
    assert s["sum_queue_s"] == 2 + 2 + 3 + 3 + 2
    assert [t.task_id for t in s["slowest"]][:2] == ["load_b", "dbt_build.model"]


def result() -> dict:
    ts = tasks()
    return {
        "scale": 1.0,
        "full": {"total_s": 120.0},
        "inprocess": {
            "total_s": 13.0,
            "cpu": {"ours_cpu_s": 12.0, "postgres_cpu_s": 4.0, "other_cpu_s": 0.5, "capacity_s": 26.0},
            "prepare_s": 0.2,
            "extract_load_process_s": 4.0,
            "dbt_s": 6.0,
            "gx_s": 2.5,
            "publish_s": 0.3,
            "rows": 1234,
        },
        "airflow": {
            "parallelism": 4,
            "cpu": {"ours_cpu_s": 70.0, "postgres_cpu_s": 8.0, "other_cpu_s": 1.0, "capacity_s": 83.0},
            "trigger_to_end_s": 41.5,
            "trigger_to_start_s": 0.5,
            "run_s": 41.0,
            "run_start": T0,
            "migrate_s": 20.0,
            "ready_s": 30.0,
            "tasks": ts,
            "summary": summarise(ts, T0, at(41)),
        },
    }


def test_report_names_command_figures_ratio_and_tasks() -> None:
    res = result()
    assert ratio(res) == pytest.approx(41.5 / 13.0)
    text = render(res, "python -m bench.airflow_run --scale 1")
    assert text.startswith(SECTION + "\n")
    assert "`python -m bench.airflow_run --scale 1`" in text
    assert "| **13.0** |" in text and "| **41.5** |" in text
    assert "**3.2 x**" in text and "**missed**" in text
    assert "| `load_b` | 1.0 | 3.0 | 11.0 |" in text  # critical path row: scheduler, executor, task
    assert "| `digest` | skipped |" not in text  # never started: not among the slowest
    assert "6 task instances" in text
    assert "| in-process | 12.0 | 4.0 | 0.5 | 63% |" in text
    assert "| scheduler-driven | 70.0 | 8.0 | 1.0 | 95% |" in text
    assert "Not a quiet machine" not in text
    assert "trigger → `publish_marts` done" not in text  # no publish task in this run
    res["airflow"]["trigger_to_publish_s"] = 26.0
    assert publish_ratio(res) == pytest.approx(2.0)
    assert "trigger → `publish_marts` done" in render(res, "cmd") and "**2.0 x**" in render(res, "cmd")
    res["airflow"]["cpu"]["other_cpu_s"] = 30.0
    flagged = render(res, "cmd")
    assert "other work took this share of the cores during the run (scheduler-driven 36%)" in flagged


def test_writing_the_section_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\n## Targets\n\nx\n\n## EL at latency\n\ny\n")
    write_section(out, render(result(), "cmd one"), section=SECTION)
    write_section(out, render(result(), "cmd two"), section=SECTION)
    text = out.read_text()
    assert text.count(SECTION) == 1 and "cmd two" in text and "cmd one" not in text
    assert text.startswith("# Benchmark results\n\n## Targets\n\nx\n\n## EL at latency\n\ny\n")


def test_the_bench_rewriting_results_md_carries_this_section_over(tmp_path: Path) -> None:
    from bench.__main__ import kept_sections

    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\n## Targets\n\nold\n")
    write_section(out, "## EL at latency\n\nel\n")
    write_section(out, render(result(), "cmd"), section=SECTION)
    kept = kept_sections(out)
    assert kept.startswith("## EL at latency\n\nel\n\n" + SECTION)
    assert "old" not in kept and "`cmd`" in kept
