"""Export a follow-up list (schema ``crm``) as CSV, as the sales team's role ``crm_reader``.

    python -m webinar_dwh.followups no_shows --webinar 1a2b3c --out no_shows.csv
    make followups LIST=engaged SINCE=2026-11-01 OUT=engaged.csv

The connection is ``--dsn`` or ``DWH_CRM_DSN`` (a ``crm_reader`` DSN: the lists hold e-mails in
clear, which no other role may read). Without ``--out`` the CSV goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import IO, Final

import psycopg
from psycopg import sql

LISTS: Final = {
    "no_shows": "followup_no_shows",
    "attendees": "followup_attendees",
    "engaged": "followup_engaged",
}


def export_csv(
    dsn: str,
    which: str,
    out: IO[bytes],
    *,
    webinar_id: str | None = None,
    since: date | None = None,
) -> int:
    """Write list ``which`` (a key of :data:`LISTS`) as CSV with a header to ``out``.

    Args:
        dsn: ``crm_reader`` connection string.
        which: ``no_shows``, ``attendees`` or ``engaged``.
        out: binary stream the CSV is written to.
        webinar_id: only this webinar.
        since: only webinars on or after this date.

    Returns:
        The number of data rows written.
    """
    if which not in LISTS:
        raise ValueError(f"unknown list {which!r}; use one of {', '.join(LISTS)}")
    # COPY takes no bind parameters: the values are quoted as literals by psycopg.
    query = sql.SQL(
        "select * from {view} where ({webinar}::text is null or webinar_id = {webinar}) "
        "and ({since}::date is null or webinar_date >= {since}) "
        "order by webinar_date desc, webinar_id, email"
    ).format(
        view=sql.Identifier("crm", LISTS[which]), webinar=sql.Literal(webinar_id), since=sql.Literal(since)
    )
    # One snapshot for the count and the rows (a list rebuilt meanwhile changes neither).
    with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("set transaction isolation level repeatable read")
        cur.execute(sql.SQL("select count(*) from ({}) as rows").format(query))
        (rows,) = cur.fetchone() or (0,)
        with cur.copy(sql.SQL("copy ({}) to stdout with (format csv, header)").format(query)) as copy:
            for chunk in copy:
                out.write(bytes(chunk))
    return int(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m webinar_dwh.followups", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("list", choices=sorted(LISTS), help="which follow-up list")
    parser.add_argument("--webinar", help="only this webinar id")
    parser.add_argument("--since", type=date.fromisoformat, help="only webinars on or after this date")
    parser.add_argument("--out", type=Path, help="CSV file (default: stdout)")
    parser.add_argument(
        "--dsn", default=os.environ.get("DWH_CRM_DSN"), help="crm_reader DSN (default: DWH_CRM_DSN)"
    )
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no connection: pass --dsn or set DWH_CRM_DSN (a crm_reader DSN)")
    if args.out:
        with args.out.open("wb") as fh:
            rows = export_csv(args.dsn, args.list, fh, webinar_id=args.webinar, since=args.since)
        print(f"{rows} row(s) written to {args.out}", file=sys.stderr)
    else:
        rows = export_csv(args.dsn, args.list, sys.stdout.buffer, webinar_id=args.webinar, since=args.since)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
