"""`make demo`: run the webinar_attendance DAG through Airflow for one logical date, then show the result.

Expects the local stack to be up and ``.local/env.sh`` sourced (the Makefile does both). Runs
``airflow db migrate`` (idempotent), then ``airflow dags test webinar_attendance <date>``, which
executes every task for real against the local PostgreSQL and the API sandbox. The full Airflow
output goes to ``.local/demo.log``; the terminal shows one line per finished task.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / ".local" / "demo.log"


def _airflow(*args: str, log) -> int:
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "airflow"), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout
    for line in proc.stdout:
        log.write(line)
        low = line.lower()
        if any(k in low for k in ("marking task as", "task instance is in", "dagrun finished", "error -")):
            print("   ", line.strip()[:160])
    return proc.wait()


def show_marts() -> None:
    import psycopg

    dsn = os.environ["DWH_BI_DSN"]
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select platform, webinar_date, left(title, 46), course, language,
                   registered, attended, show_up_rate, avg_minutes_attended
            from marts.webinar_attendance
            where is_held
            order by webinar_date desc, platform, title
            limit 25
            """
        ).fetchall()
        # Held webinars only: an upcoming one has registrations but no attendance yet (null).
        totals = conn.execute(
            """
            select platform, count(*), sum(registered), sum(attended),
                   round(sum(attended)::numeric / nullif(sum(registered), 0), 3),
                   (select count(*) from marts.webinar_attendance as u
                    where u.platform = w.platform and not u.is_held)
            from marts.webinar_attendance as w
            where is_held
            group by platform order by platform
            """
        ).fetchall()
    header = (
        f"{'platform':<10} {'date':<10} {'title':<46} {'course':<20} {'lang':<8} "
        f"{'reg':>5} {'att':>5} {'CR':>6} {'min':>6}"
    )
    print("\nLatest held webinars (marts.webinar_attendance, read as bi_reader):\n")
    print(header)
    print("-" * len(header))
    for p, d, t, c, lang, reg, att, cr, mins in rows:
        cr_s = f"{float(cr):.1%}" if cr is not None else "-"
        min_s = f"{float(mins):.1f}" if mins is not None else "-"
        print(f"{p:<10} {d!s:<10} {t:<46} {c[:20]:<20} {lang[:8]:<8} {reg:>5} {att:>5} {cr_s:>6} {min_s:>6}")
    print("\nPer platform, held webinars: webinars, registered, attended, show-up rate")
    for p, n, reg, att, cr, upcoming in totals:
        print(
            f"  {p:<10} {n:>5} webinars  {reg:>7} registered  {att:>7} attended  CR {cr}"
            f"  (+{upcoming} upcoming, not counted)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logical-date", default="2026-11-24T06:00:00+01:00")
    args = parser.parse_args()
    LOG.parent.mkdir(exist_ok=True)
    # The sandbox has no transient faults in the demo: fail at once instead of waiting for retries.
    os.environ.setdefault("DWH_TASK_RETRIES", "0")
    started = time.monotonic()
    with LOG.open("w") as log:
        print("==> airflow db migrate")
        if _airflow("db", "migrate", log=log) != 0:
            print(f"airflow db migrate failed; see {LOG}")
            return 1
        print(f"==> airflow dags test webinar_attendance {args.logical_date}")
        rc = _airflow("dags", "test", "webinar_attendance", args.logical_date, log=log)
    took = time.monotonic() - started
    if rc != 0:
        print(f"\nThe run FAILED after {took:.0f} s. Full log: {LOG}")
        return rc
    show_marts()
    port = os.environ.get("DWH_PORT", "")
    print(
        f"""
Done in {took:.0f} s. Where to look next:
  psql on the marts (BI role):   source .local/env.sh && psql "$DWH_BI_DSN" -c '\\dt marts.*'
  psql as the pipeline owner:    source .local/env.sh && psql "$AIRFLOW_CONN_DWH_DEFAULT"
  quarantined records:           select _source, _entity, reason from raw.quarantine;
  Airflow UI (runs, task docs):  make airflow   → http://127.0.0.1:8080
  Dashboard:                     make dashboard → http://127.0.0.1:8501
  Full Airflow output:           {LOG.relative_to(ROOT)}
  Warehouse port:                {port}
"""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
