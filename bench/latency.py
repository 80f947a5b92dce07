"""``python -m bench.latency``: extract + load against vendors that answer late (the "EL at
latency" section of ``bench/RESULTS.md``).

One fresh database and sandbox at ``--scale``; the sandbox answers every request after
``--latency-ms`` and enforces the vendors' rate limits (Calendly 500/min, Zoom 20/10 per second
for Medium/Heavy, BigMarker ``--bigmarker-limit`` per second). In the same run, for each mode —
**sequential** (``DWH_<SOURCE>_CONCURRENCY=1``, today's client) and **concurrent**
(``--concurrency`` workers, ``DWH_<SOURCE>_MAX_RPS`` at each vendor's limit) — a full-refresh
extract + load of the three sources, then a daily run one day later; each timed, with the
sandbox's peak request rate per vendor against the configured maximum.

    python -m bench.latency --scale 1 --latency-ms 100 [--concurrency 8] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.stack import ANCHOR, bench_stack

DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## EL at latency"


def limits(bigmarker_limit: int) -> tuple[dict[str, Any], dict[str, float]]:
    """The sandbox's rate-limit switches and the clients' ``MAX_RPS`` that respect them."""
    sandbox = {
        "rate_limit": True,
        "bigmarker_rate_limit": bigmarker_limit,
        "bigmarker_rate_window_s": 1.0,
        "calendly_rate_limit": 500,
        "calendly_rate_window_s": 60.0,
        "zoom_rate_medium": 20,
        "zoom_rate_heavy": 10,
    }
    clients = {"bigmarker": float(bigmarker_limit), "calendly": 500 / 60, "zoom": 10.0}
    return sandbox, clients


def el_run(stack: Any, interval_end: Any, *, full_refresh: bool, env: dict[str, str]) -> dict[str, Any]:
    """Extract + load of every source in-process; seconds, rows, peak rate per vendor."""
    from webinar_dwh import pipeline
    from webinar_dwh.config import patched_env
    from webinar_dwh.sources import SOURCES

    stack.sandbox.reset_stats()
    run = pipeline.RunInfo.manual(interval_end, full_refresh=full_refresh)
    started = time.perf_counter()
    with patched_env(env):
        summaries = {src: pipeline.extract_load(src, run) for src in SOURCES}
    seconds = time.perf_counter() - started
    stats = stack.sandbox.stats()
    return {
        "seconds": seconds,
        "by_source_s": {src: s["seconds"] for src, s in summaries.items()},
        "rows": sum(sum(s["rows"].values()) for s in summaries.values()),
        "requests": stats["total"],
        "peak_rps": stats["peak_rps"],
        "rate_limited": stats["rate_limited"],
    }


def measure(
    scale: float, *, latency_ms: float, concurrency: int, bigmarker_limit: int, seed: int
) -> dict[str, Any]:
    sandbox_limits, max_rps = limits(bigmarker_limit)
    modes = {
        "sequential": {f"DWH_{s.upper()}_CONCURRENCY": "1" for s in max_rps},
        "concurrent": {
            **{f"DWH_{s.upper()}_CONCURRENCY": str(concurrency) for s in max_rps},
            **{f"DWH_{s.upper()}_MAX_RPS": f"{rps:g}" for s, rps in max_rps.items()},
        },
    }
    out: dict[str, Any] = {
        "scale": scale,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "max_rps": max_rps,
    }
    with bench_stack(scale, seed=seed) as stack:
        stack.sandbox.configure(latency_ms=latency_ms, **sandbox_limits)
        for mode, env in modes.items():
            _log(f"full, {mode}")
            out[("full", mode)] = el_run(stack, ANCHOR, full_refresh=True, env=env)
        stack.sandbox.configure(as_of=ANCHOR + timedelta(days=1))
        for mode, env in modes.items():
            _log(f"daily, {mode}")
            out[("daily", mode)] = el_run(stack, ANCHOR + timedelta(days=1), full_refresh=False, env=env)
    return out


def render(result: dict[str, Any], command: str) -> str:
    max_rps = result["max_rps"]
    lines = [
        SECTION,
        "",
        f"Command: `{command}`. Sandbox latency {result['latency_ms']:g} ms per request, the vendors' "
        f"rate limits enforced with 429s; concurrent = {result['concurrency']} workers per source with "
        "`DWH_<SOURCE>_MAX_RPS` at the vendor's limit ("
        + ", ".join(f"{s} {r:.1f}/s" for s, r in max_rps.items())
        + "). Extract + load of the three sources, in-process, sequential and concurrent in the same run.",
        "",
        "| run | mode | rows landed | requests | seconds | concurrent speed-up | peak req/s (limit) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in ("full", "daily"):
        seq = result[(run, "sequential")]["seconds"]
        for mode in ("sequential", "concurrent"):
            r = result[(run, mode)]
            peaks = ", ".join(f"{s} {r['peak_rps'].get(s, 0):.0f} ({max_rps[s]:.1f})" for s in max_rps)
            speed = f"**{seq / r['seconds']:.1f} x**" if mode == "concurrent" else ""
            lines.append(
                f"| {run} | {mode} | {r['rows']:,} | {r['requests']:,} | {r['seconds']:.1f} | {speed} "
                f"| {peaks} |"
            )
    lines += [
        "",
        "Peak req/s: the most requests the sandbox saw in any 1 s sliding window (429s included); "
        "the sequential client is not paced, so its peak is bounded by the latency only.",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, text: str, *, section: str = SECTION) -> None:
    """Replace (or append) one ``## …`` section of RESULTS.md (``EL at latency`` by default);
    ``text`` starts with its heading ``section``. The other sections stay as they are."""
    current = path.read_text() if path.exists() else ""
    if section in current:
        head, _, rest = current.partition(section)
        tail = rest.split("\n## ", 1)
        current = head + text + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def _log(message: str) -> None:
    print(f"[bench.latency {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--bigmarker-limit", type=int, default=100, help="BigMarker requests per second (100)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    command = "python -m bench.latency " + shlex.join(argv if argv is not None else sys.argv[1:])
    result = measure(
        args.scale,
        latency_ms=args.latency_ms,
        concurrency=args.concurrency,
        bigmarker_limit=args.bigmarker_limit,
        seed=args.seed,
    )
    text = render(result, command)
    write_section(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
