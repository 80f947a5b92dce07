"""Child process of the benchmark: extract + load every source for one run, report JSON on stdout.

Run in its own process so the parent can read this work's peak RSS alone (``os.wait4``). The
time spent inside :func:`webinar_dwh.warehouse.landing.land_batch` (serialise + COPY + commit of
batches already pulled) is measured separately from the total: ``extract = total - land``,
because the pipeline pulls a whole batch of parents over HTTP before landing it.

    python -m bench.extract_load --interval-end 2026-11-24T05:00:00+00:00 [--full-refresh]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def run(interval_end: datetime, *, full_refresh: bool) -> dict[str, Any]:
    """Extract and land the three sources for a manual run ending at ``interval_end``.

    Returns:
        ``{"total_s", "land_s", "rows", "batches", "sources": {...}}``; ``rows`` counts raw rows
        landed (quarantined records excluded).
    """
    from webinar_dwh import pipeline
    from webinar_dwh.sources import SOURCES
    from webinar_dwh.warehouse import landing

    land_seconds = 0.0
    original = landing.land_batch

    def timed_land_batch(*args: Any, **kwargs: Any):
        nonlocal land_seconds
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            land_seconds += time.perf_counter() - started

    landing.land_batch = timed_land_batch  # pipeline.extract_load calls it through the module
    run_info = pipeline.RunInfo.manual(interval_end, full_refresh=full_refresh)
    started = time.perf_counter()
    summaries = {src: pipeline.extract_load(src, run_info) for src in SOURCES}
    total = time.perf_counter() - started
    return {
        "peak_rss_kib": _peak_rss_kib(),
        "total_s": total,
        "land_s": land_seconds,
        "rows": sum(sum(s["rows"].values()) for s in summaries.values()),
        "batches": sum(s["batches"] for s in summaries.values()),
        "sources": summaries,
    }


def _peak_rss_kib() -> int:
    """This process's RSS high-water mark (``VmHWM``), KiB.

    Read from ``/proc/self/status`` rather than ``ru_maxrss``: after ``fork`` + ``exec`` Linux
    carries the parent's high-water mark into the child's ``ru_maxrss``, so a child forked from a
    big parent (dbt, GX already imported) would report the parent's size. ``VmHWM`` belongs to
    the address space created by ``exec``.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval-end", required=True, type=datetime.fromisoformat)
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.interval_end, full_refresh=args.full_refresh)
    sys.stdout.write("BENCH_RESULT " + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
