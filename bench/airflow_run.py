"""``python -m bench.airflow_run``: the morning run under a real Airflow scheduler against the same
work in-process (the "Morning run under the scheduler" section of ``bench/RESULTS.md``).

One fresh warehouse database and sandbox at ``--scale`` (:func:`bench.stack.bench_stack`), then,
in one process, minutes apart:

1. **history** — the bench's full run up to the anchor (2026-11-24 05:00 UTC), in-process;
2. **three mornings in-process** — each: sandbox clock + 1 day, ``VACUUM (ANALYZE)`` (untimed),
   the bench's daily pipeline (:func:`bench.__main__.run_pipeline`: prepare, extract + load in a
   child process, ``dbt build``, GX, publish), timed stage by stage; the median one is compared;
3. **the mornings after, under the scheduler** — sandbox clock + 1 day, ``VACUUM (ANALYZE)``,
   then a real Airflow 3 deployment on the LocalExecutor (:class:`scripts.celery_stack.AirflowStack`:
   a fresh PostgreSQL metadata database on the same cluster, ``airflow db migrate``, scheduler,
   dag-processor and api-server as separate processes, the pipeline's connections and settings
   in their environment). Once the DAG is listed, it is unpaused and a run for that logical date
   is triggered over the REST API: the deployment's first morning, with its caches still empty
   (reported, not timed; ``--no-warmup`` times it instead). Then the
   sandbox clock moves one more day, ``VACUUM (ANALYZE)``, and the next run is timed from the
   trigger to the DAG run's end (``dag_run.end_date`` in the metadata DB) and to the end of
   ``publish_marts`` (where BI reads the new marts, and where the in-process run ends). Per
   task instance, from ``task_instance``: upstream done → queued (scheduling), queued → start
   (executor: process start-up until the task reports running), start → end (the task
   itself); their sums, the critical path and the slowest tasks.

Whatever ``dags/webinar_attendance.py`` renders is what runs: the task graph is read from the
API, never assumed. Nothing is asserted; the ratio is reported against the target (≤ 2 x).

    python -m bench.airflow_run --scale 1 [--parallelism 8] [--airflow-defaults] [--no-warmup]
        [--out bench/RESULTS.md] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Morning run under the scheduler"
DAG_ID = "webinar_attendance"
TARGET_RATIO = 2.0
POLL_S = 0.5
#: Above this share of the cores used by other processes during a run, the report flags it.
QUIET_SHARE = 0.1
#: DAG tasks whose work the bench's in-process pipeline does not do (named in the report).
#: In-process mornings before the Airflow ones; the median is the figure compared.
INPROCESS_MORNINGS = 3
#: The task after which BI reads the morning's numbers (the in-process pipeline's last stage).
PUBLISH_TASK = "publish_marts"
EXTRA_TASKS = ("source_freshness", "run_report", "build_followups", "send_digest", "refresh_docs")


# --------------------------------------------------------------------------- task-instance analysis


@dataclass(frozen=True)
class TaskTiming:
    """One task instance of the run, from ``task_instance`` (times are timezone-aware, or None).

    Attributes:
        task_id: the task (a Cosmos model task is ``dbt_build.<model>_run`` or similar).
        state: its final state (``success``, ``skipped``, …).
        queued: ``queued_dttm`` — when the scheduler handed it to the executor.
        start: ``start_date`` — when the task process reported it running (queued → start is
            the wait for a free executor slot plus the task process's start-up).
        end: ``end_date``.
        upstream: ids of its direct upstream tasks (from the DAG as the API serves it).
    """

    task_id: str
    state: str | None
    queued: datetime | None
    start: datetime | None
    end: datetime | None
    upstream: tuple[str, ...] = ()

    @property
    def queue_s(self) -> float | None:
        """queued → start: the executor's share (a free slot, process start-up, reporting running)."""
        return _seconds(self.queued, self.start)

    @property
    def run_s(self) -> float | None:
        """start → end: the task's own work as Airflow sees it."""
        return _seconds(self.start, self.end)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def ready_at(task: TaskTiming, tasks: dict[str, TaskTiming], run_start: datetime) -> datetime:
    """When ``task`` could have been queued: its last upstream's end, or the run's start."""
    ends = [end for u in task.upstream if u in tasks and (end := tasks[u].end) is not None]
    return max(ends, default=run_start)


def schedule_s(task: TaskTiming, tasks: dict[str, TaskTiming], run_start: datetime) -> float | None:
    """upstream done (or run start) → queued: the scheduler's share."""
    return _seconds(ready_at(task, tasks, run_start), task.queued)


def critical_path(tasks: dict[str, TaskTiming]) -> list[str]:
    """The chain of tasks that decided the run's end, first to last.

    From the task that ended last, step to the upstream task that ended last (the one it
    waited for) until a task without upstream tasks.
    """
    ended = [t for t in tasks.values() if t.end is not None]
    if not ended:
        return []
    current = max(ended, key=lambda t: t.end or datetime.min.replace(tzinfo=UTC))
    path = [current.task_id]
    while True:
        ups = [tasks[u] for u in current.upstream if u in tasks and tasks[u].end is not None]
        if not ups:
            break
        current = max(ups, key=lambda t: t.end or datetime.min.replace(tzinfo=UTC))
        path.append(current.task_id)
    return path[::-1]


def summarise(tasks: dict[str, TaskTiming], run_start: datetime, run_end: datetime) -> dict[str, Any]:
    """Sums, the critical path's decomposition and the slowest tasks of one DAG run."""
    path = critical_path(tasks)
    on_path = [tasks[t] for t in path]

    def total(values: list[float | None]) -> float:
        return sum(v for v in values if v is not None)

    states: dict[str, int] = {}
    for t in tasks.values():
        states[t.state or "none"] = states.get(t.state or "none", 0) + 1
    last_end = max((t.end for t in tasks.values() if t.end is not None), default=run_end)
    return {
        "task_instances": len(tasks),
        "states": states,
        "sum_schedule_s": total([schedule_s(t, tasks, run_start) for t in tasks.values()]),
        "sum_queue_s": total([t.queue_s for t in tasks.values()]),
        "sum_run_s": total([t.run_s for t in tasks.values()]),
        "critical_path": path,
        "path_schedule_s": total([schedule_s(t, tasks, run_start) for t in on_path]),
        "path_queue_s": total([t.queue_s for t in on_path]),
        "path_run_s": total([t.run_s for t in on_path]),
        "path_tail_s": max(0.0, (run_end - last_end).total_seconds()),
        "slowest": sorted(
            (t for t in tasks.values() if t.run_s is not None), key=lambda t: t.run_s or 0.0, reverse=True
        )[:10],
    }


# --------------------------------------------------------------------------- CPU accounting


def _tree_cpu_s(root: int) -> float:
    """CPU seconds of process ``root`` and its live descendants, plus every descendant they reaped.

    ``utime + stime + cutime + cstime`` from ``/proc/<pid>/stat``: a finished task process counts
    in the worker that waited for it, a finished PostgreSQL backend in the postmaster.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = sum(int(f) for f in fields[11:15]) / tick
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, parent in parents.items() if parent == pid and c not in members]
        members.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0.0) for pid in members)


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy since boot (``/proc/stat``, all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of one phase: this process's tree (the bench, its sandbox threads, its children
    — the extract process, Airflow's components and their task processes), the warehouse's
    PostgreSQL cluster, and the rest of the machine (other people's work on the shared cores)."""

    def __init__(self, postmaster_pid: int | None) -> None:
        self.postmaster_pid = postmaster_pid
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        ours = _tree_cpu_s(os.getpid())
        pg = _tree_cpu_s(self.postmaster_pid) if self.postmaster_pid else 0.0
        return ours, pg, _machine_busy_s()

    def stop(self, wall_s: float) -> dict[str, float]:
        ours, pg, busy = (b - a for a, b in zip(self._start, self._sample(), strict=True))
        return {
            "ours_cpu_s": ours,
            "postgres_cpu_s": pg,
            "other_cpu_s": max(0.0, busy - ours - pg),
            "capacity_s": wall_s * (os.cpu_count() or 1),
        }


def _postmaster_pid() -> int | None:
    """Pid of the local cluster's postmaster (``.local/pg/data/postmaster.pid``), if readable."""
    from scripts import local_pg

    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((local_pg.DATA / "postmaster.pid").read_text().split()[0])
    return None


# --------------------------------------------------------------------------- the deployment


def _api(base: str, method: str, path: str, **kw: Any) -> Any:
    import requests

    resp = requests.request(method, f"{base}{path}", timeout=30, **kw)
    if not resp.ok:
        raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:2000]}")
    return resp.json()


def _read_run(meta_dsn: str, run_id: str, graph: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The DAG run's times and its task instances from the metadata DB."""
    import psycopg

    with psycopg.connect(meta_dsn) as conn:
        row = conn.execute(
            "select state, queued_at, start_date, end_date from dag_run where dag_id = %s and run_id = %s",
            (DAG_ID, run_id),
        ).fetchone()
        if row is None:
            raise RuntimeError(f"dag run {run_id} not in the metadata DB")
        tis = conn.execute(
            "select task_id, state, queued_dttm, start_date, end_date from task_instance "
            "where dag_id = %s and run_id = %s order by start_date nulls last",
            (DAG_ID, run_id),
        ).fetchall()
    tasks = {
        task_id: TaskTiming(task_id, state, queued, start, end, graph.get(task_id, ()))
        for task_id, state, queued, start, end in tis
    }
    return {"state": row[0], "queued_at": row[1], "start": row[2], "end": row[3], "tasks": tasks}


def _task_graph(api: str) -> dict[str, tuple[str, ...]]:
    """task id → its direct upstream task ids, as the api-server serves the DAG."""
    tasks = _api(api, "GET", f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
    upstream: dict[str, list[str]] = {t["task_id"]: [] for t in tasks}
    for t in tasks:
        for down in t.get("downstream_task_ids") or []:
            upstream.setdefault(down, []).append(t["task_id"])
    return {k: tuple(v) for k, v in upstream.items()}


def _trigger_and_wait(
    api: str,
    meta_dsn: str,
    graph: dict[str, tuple[str, ...]],
    logical_date: datetime,
    run_timeout_s: float,
    logs: Any,
) -> dict[str, Any]:
    """Trigger a run for ``logical_date`` over REST, wait for its end; its times and tasks."""
    run_id = f"bench_airflow__{logical_date:%Y-%m-%dT%H%M}"
    _log(f"trigger {run_id}")
    triggered = datetime.now(UTC)
    t0 = time.monotonic()
    _api(
        api,
        "POST",
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        json={"dag_run_id": run_id, "logical_date": logical_date.isoformat(), "conf": {}},
    )
    state, deadline = "queued", t0 + run_timeout_s
    while state not in ("success", "failed") and time.monotonic() < deadline:
        time.sleep(POLL_S)
        state = _api(api, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
    observed_s = time.monotonic() - t0  # trigger → the API said so (poll granularity)
    run = _read_run(meta_dsn, run_id, graph)
    if state != "success":
        failed = {t.task_id: t.state for t in run["tasks"].values() if t.state != "success"}
        raise RuntimeError(f"run {run_id} ended {state!r}: {failed}; logs in {logs}")
    return {"state": state, "triggered": triggered, "observed_s": observed_s, "run": run}


@dataclass(frozen=True)
class Deployment:
    """How the Airflow deployment of the measurement runs.

    Attributes:
        parallelism: ``[core] parallelism`` of the LocalExecutor.
        tuned: docker-compose.yaml's scheduler settings (``False``: Airflow's defaults).
        warmup: run a first morning before the timed one.
        run_timeout_s: how long to wait for a DAG run.
        keep: keep the warehouse, the metadata DB and the Airflow folder.
    """

    parallelism: int = 8
    tuned: bool = True
    warmup: bool = True
    run_timeout_s: float = 1800.0
    keep: bool = False


def scheduler_run(stack: Any, logical_date: datetime, deployment: Deployment) -> dict[str, Any]:
    """Start a LocalExecutor deployment on ``stack``'s warehouse, trigger one run, time it
    (with ``deployment.warmup``: a first run for ``logical_date``, then the timed one a day
    later)."""
    import psycopg
    from psycopg import sql

    from bench.stack import cluster_dsn
    from scripts.celery_stack import AirflowStack

    server = cluster_dsn()
    meta_db = f"bench_airflow_{uuid.uuid4().hex[:8]}"
    meta_dsn = server.rsplit("/", 1)[0] + "/" + meta_db
    base_dir = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(meta_db)))
    # a failure shows at once instead of after a retry delay
    env = {**stack.env, "DWH_TASK_RETRIES": "0"}
    airflow = AirflowStack(
        base_dir, meta_dsn, env, parallelism=deployment.parallelism, tuned=deployment.tuned
    )
    out: dict[str, Any] = {
        "parallelism": deployment.parallelism,
        "tuned": deployment.tuned,
        "logs": str(airflow.logs),
    }
    ok = False
    try:
        started = time.monotonic()
        airflow.start()
        out["migrate_s"] = airflow.migrate_s
        api = airflow.api_base
        deadline = time.monotonic() + 300
        while not _api(api, "GET", "/api/v2/dags", params={"dag_id_pattern": DAG_ID})["dags"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{DAG_ID} not listed: {_api(api, 'GET', '/api/v2/importErrors')}")
            time.sleep(1)
        out["ready_s"] = time.monotonic() - started
        graph = _task_graph(api)
        _api(api, "PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
        timed_date = logical_date
        if deployment.warmup:
            # A deployment's first morning starts with empty caches (Cosmos's profile and dbt-parse
            # caches); every later morning finds them filled. The timed run is the deployment's
            # second morning, the first is reported apart.
            first = _trigger_and_wait(
                api, meta_dsn, graph, logical_date, deployment.run_timeout_s, airflow.logs
            )
            out["first_morning_s"] = (first["run"]["end"] - first["triggered"]).total_seconds()
            _log(f"first morning of the deployment {out['first_morning_s']:.1f} s (not timed)")
            timed_date = logical_date + timedelta(days=1)
            stack.sandbox.configure(as_of=timed_date)
            from bench import stages

            stages.settle(stack.owner_dsn)
        out["logical_date"] = timed_date
        meter = CpuMeter(_postmaster_pid())
        timed = _trigger_and_wait(api, meta_dsn, graph, timed_date, deployment.run_timeout_s, airflow.logs)
        out["observed_s"] = timed["observed_s"]
        out["cpu"] = meter.stop(out["observed_s"])
        run, triggered = timed["run"], timed["triggered"]
        out.update(
            state=timed["state"],
            trigger_to_end_s=(run["end"] - triggered).total_seconds(),
            run_s=(run["end"] - run["start"]).total_seconds(),
            run_start=run["start"],
            trigger_to_start_s=(run["start"] - triggered).total_seconds(),
            # the moment BI reads the new numbers: where the in-process pipeline ends too
            trigger_to_publish_s=_seconds(triggered, getattr(run["tasks"].get(PUBLISH_TASK), "end", None)),
            summary=summarise(run["tasks"], run["start"], run["end"]),
            tasks=run["tasks"],
        )
        ok = True
        return out
    finally:
        airflow.stop()
        if ok and not deployment.keep:
            shutil.rmtree(base_dir, ignore_errors=True)
        else:
            _log(f"Airflow folder kept: {base_dir} (metadata DB {meta_db if deployment.keep else 'dropped'})")
        if not deployment.keep:
            drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(meta_db))
            with psycopg.connect(server, autocommit=True) as conn, contextlib.suppress(psycopg.Error):
                conn.execute(drop)


# --------------------------------------------------------------------------- the measurement


def measure(scale: float, *, seed: int, deployment: Deployment) -> dict[str, Any]:
    """History, three mornings in-process (the median compared), then two under the scheduler
    (the second timed)."""
    from bench import stages
    from bench.__main__ import run_pipeline
    from bench.stack import ANCHOR, bench_stack

    out: dict[str, Any] = {"scale": scale}
    with bench_stack(scale, seed=seed, keep_db=deployment.keep) as stack:
        _log(f"scale {scale:g}: full run (history from {stack.history_start})")
        out["full"] = run_pipeline(stack, ANCHOR)
        _log(f"full run {out['full']['total_s']:.1f} s")

        # Three mornings in-process, the median one compared (as the bench's daily figure): one
        # slow or fast morning on a shared machine does not decide the ratio.
        mornings = []
        for day in range(1, INPROCESS_MORNINGS + 1):
            stack.sandbox.configure(as_of=ANCHOR + timedelta(days=day))
            stages.settle(stack.owner_dsn)
            meter = CpuMeter(_postmaster_pid())
            morning = run_pipeline(stack, ANCHOR + timedelta(days=day))
            morning["cpu"] = meter.stop(morning["total_s"])
            mornings.append(morning)
            _log(f"in-process daily run {day}: {morning['total_s']:.1f} s")
        out["inprocess"] = sorted(mornings, key=lambda m: m["total_s"])[(len(mornings) - 1) // 2]
        out["inprocess_all_s"] = [m["total_s"] for m in mornings]

        day2 = ANCHOR + timedelta(days=INPROCESS_MORNINGS + 1)
        stack.sandbox.configure(as_of=day2)
        stages.settle(stack.owner_dsn)
        out["airflow"] = scheduler_run(stack, day2, deployment)
        out["logical_date"] = out["airflow"]["logical_date"]
        _log(f"scheduler-driven run {out['airflow']['trigger_to_end_s']:.1f} s (trigger → end)")
    return out


def ratio(result: dict[str, Any]) -> float:
    """Scheduler-driven (trigger → DAG run end) / in-process daily run."""
    return result["airflow"]["trigger_to_end_s"] / result["inprocess"]["total_s"]


def publish_ratio(result: dict[str, Any]) -> float | None:
    """Scheduler-driven (trigger → marts published) / in-process daily run (which ends there)."""
    published = result["airflow"].get("trigger_to_publish_s")
    return None if published is None else published / result["inprocess"]["total_s"]


def render(result: dict[str, Any], command: str, *, machine: str = "", date: str = "") -> str:
    """The RESULTS.md section (starts with :data:`SECTION`)."""
    af, inp, summary = result["airflow"], result["inprocess"], result["airflow"]["summary"]
    tasks: dict[str, TaskTiming] = af["tasks"]
    r = ratio(result)
    verdict = "met" if r <= TARGET_RATIO else "**missed**"
    path = summary["critical_path"]

    def fmt(v: float | None, digits: int = 1) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    lines = [
        SECTION,
        "",
        f"Command: `{command}`"
        + (f" ({date})" if date else "")
        + ". "
        + (f"Machine: {machine}. " if machine else "")
        + f"Scale {result['scale']:g}: the history built by the bench's full run "
        f"({result['full']['total_s']:.1f} s), then the next morning **in-process** (the bench's daily "
        "pipeline: prepare, extract + load in a child process, `dbt build`, GX, publish) and the morning "
        f"after **through Airflow** (LocalExecutor, parallelism {af['parallelism']}, "
        + (
            "docker-compose.yaml's scheduler settings (forkserver preload, idle sleep 0.25 s)"
            if af.get("tuned", True)
            else "Airflow's default scheduler settings"
        )
        + "; scheduler, "
        "dag-processor and api-server as separate processes on a PostgreSQL metadata DB; the DAG "
        "triggered over REST: its second morning is timed), `VACUUM (ANALYZE)` before each. Same warehouse, "
        "same sandbox, minutes apart.",
        "",
        "| figure | seconds | |",
        "|---|---|---|",
        f"| in-process daily run, median of "
        f"{', '.join(f'{x:.1f}' for x in result.get('inprocess_all_s', [inp['total_s']]))} s "
        f"(prepare {inp['prepare_s']:.1f} + extract+load process "
        f"{inp['extract_load_process_s']:.1f} + dbt build {inp['dbt_s']:.1f} + GX {inp['gx_s']:.1f} + "
        f"publish {inp['publish_s']:.1f}) | **{inp['total_s']:.1f}** | {inp['rows']:,} rows landed |",
        f"| scheduler-driven run: trigger → DAG run end | **{af['trigger_to_end_s']:.1f}** | "
        f"trigger → run start {af['trigger_to_start_s']:.1f} |",
        f"| DAG run start → end (metadata DB) | {af['run_s']:.1f} | |",
        f"| **ratio** scheduler / in-process | **{r:.1f} x** | target ≤ {TARGET_RATIO:g} x: {verdict} |",
    ]
    pr = publish_ratio(result)
    if pr is not None:
        lines += [
            f"| scheduler-driven run: trigger → `{PUBLISH_TASK}` done (BI reads the new marts; the "
            f"in-process run ends there too) | **{af['trigger_to_publish_s']:.1f}** | |",
            f"| ratio to the published marts | **{pr:.1f} x** | the rest of the run is work the "
            "in-process pipeline does not do |",
        ]
    lines += [
        "",
        f"Where the time goes ({summary['task_instances']} task instances: "
        + ", ".join(f"{n} {s}" for s, n in sorted(summary["states"].items()))
        + "). Summed over all of them: upstream done → queued (scheduler) "
        f"**{summary['sum_schedule_s']:.1f} s**, queued → start (executor: waiting for one of the "
        f"{af['parallelism']} slots, then the task process's start-up) "
        f"**{summary['sum_queue_s']:.1f} s**, start → end (the tasks) **{summary['sum_run_s']:.1f} s**. "
        f"On the critical path ({len(path)} tasks): scheduler {summary['path_schedule_s']:.1f} s + "
        f"executor {summary['path_queue_s']:.1f} s + tasks {summary['path_run_s']:.1f} s "
        f"(+ {summary['path_tail_s']:.1f} s from the last task's end to the run's end).",
        "",
    ]
    cpu_rows = [(name, r["cpu"]) for name, r in (("in-process", inp), ("scheduler-driven", af)) if "cpu" in r]
    if cpu_rows:
        lines += [
            "CPU seconds during each run: *ours* = the bench process with "
            "its sandbox threads and every process it started (the extract child; Airflow's components "
            "and their task processes), *PostgreSQL* = the warehouse cluster (+ Airflow's metadata DB), "
            "*others* = the rest of the machine (other work on the shared cores).",
            "",
            "| run | ours | PostgreSQL | others | cores busy (CPU s / (wall s x cores)) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {c['ours_cpu_s']:.1f} | {c['postgres_cpu_s']:.1f} | {c['other_cpu_s']:.1f} | "
            f"{(c['ours_cpu_s'] + c['postgres_cpu_s'] + c['other_cpu_s']) / c['capacity_s']:.0%} |"
            for name, c in cpu_rows
        ]
        disturbed = [
            f"{name} {c['other_cpu_s'] / c['capacity_s']:.0%}"
            for name, c in cpu_rows
            if c["other_cpu_s"] > QUIET_SHARE * c["capacity_s"]
        ]
        if disturbed:
            lines += [
                "",
                "**Not a quiet machine:** other work took this share of the cores during the run ("
                + ", ".join(disturbed)
                + "); those seconds are inflated — rerun when the machine is idle.",
            ]
        lines.append("")
    lines += [
        "Critical path (each task waited for the one above it):",
        "",
        "| task | upstream done → queued s | queued → start s | start → end s |",
        "|---|---|---|---|",
    ]
    start: datetime = af["run_start"]
    for task_id in path:
        t = tasks[task_id]
        lines.append(
            f"| `{task_id}` | {fmt(schedule_s(t, tasks, start))} | {fmt(t.queue_s)} | {fmt(t.run_s)} |"
        )
    lines += [
        "",
        "Slowest tasks (start → end):",
        "",
        "| task | state | queued → start s | start → end s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{t.task_id}` | {t.state} | {fmt(t.queue_s)} | {fmt(t.run_s)} |" for t in summary["slowest"]
    ]
    lines += [
        "",
        "Not in either time: building the history, `VACUUM`, and starting Airflow "
        f"(`airflow db migrate` {fmt(af.get('migrate_s'))} s; DAG listed {fmt(af.get('ready_s'))} s "
        "after start)"
        + (
            f"; nor the deployment's first morning, the day before the timed one "
            f"({af['first_morning_s']:.1f} s trigger → end, with the deployment's caches still "
            "empty)."
            if af.get("first_morning_s") is not None
            else "."
        ),
    ]
    extra = [t for t in EXTRA_TASKS if t in tasks]
    if extra:
        lines[-1] += (
            " The DAG also runs work the in-process pipeline does not (start → end): "
            + ", ".join(
                f"`{t}` {fmt(tasks[t].run_s)} s" + (" (critical path)" if t in path else "") for t in extra
            )
            + "."
        )
    lines.append("")
    return "\n".join(lines)


def _log(message: str) -> None:
    print(f"[bench.airflow_run {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import machine
    from bench.latency import write_section

    parser = argparse.ArgumentParser(prog="python -m bench.airflow_run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--parallelism",
        type=int,
        default=8,
        help="[core] parallelism of the LocalExecutor (8, as docker-compose.yaml)",
    )
    parser.add_argument(
        "--airflow-defaults",
        action="store_true",
        help="Airflow's default scheduler settings instead of docker-compose.yaml's (forkserver "
        "preload, scheduler idle sleep): what those settings save",
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="time the deployment's first morning instead of its second (cold caches)",
    )
    parser.add_argument("--run-timeout", type=float, default=1800.0, help="seconds to wait for the DAG run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--keep", action="store_true", help="keep the warehouse, the metadata DB and the Airflow folder"
    )
    args = parser.parse_args(argv)
    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C: Airflow's components run in their own
    # sessions and would outlive this process; the finally blocks stop them and drop the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = "python -m bench.airflow_run " + shlex.join(argv if argv is not None else sys.argv[1:])
    deployment = Deployment(
        parallelism=args.parallelism,
        tuned=not args.airflow_defaults,
        warmup=not args.no_warmup,
        run_timeout_s=args.run_timeout,
        keep=args.keep,
    )
    result = measure(args.scale, seed=args.seed, deployment=deployment)
    text = render(result, command, machine=machine(), date=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    write_section(args.out, text, section=SECTION)
    print(text)
    print(f"inprocess_s = {result['inprocess']['total_s']:.1f}")
    print(f"scheduler_trigger_to_end_s = {result['airflow']['trigger_to_end_s']:.1f}")
    print(f"ratio = {ratio(result):.2f} (target <= {TARGET_RATIO:g})")
    if (pr := publish_ratio(result)) is not None:
        published_s = result["airflow"]["trigger_to_publish_s"]
        print(f"scheduler_trigger_to_publish_s = {published_s:.1f}; ratio = {pr:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
