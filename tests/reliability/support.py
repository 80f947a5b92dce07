"""Helpers of the reliability suite: pipeline steps without Airflow and the ground-truth comparison.

The harness's ``Stack.run_pipeline`` runs every step every time; these tests drive the same task
functions step by step instead, because they need to stop between steps (crash, backfill days)
and because ``dbt seed`` only has to run once per database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from webinar_dwh.contracts import mart_columns
from webinar_dwh.sources import SOURCES

#: The columns of ``marts.webinar_attendance`` compared with the sandbox's truth: what the truth
#: computes, bar the key and the titles (a surprise scenario serves hostile titles on purpose).
WEBINAR_COLUMNS = (
    "webinar_date", "course", "language", "registered", "attended", "walk_ins", "show_up_rate",
    "avg_minutes_attended", "is_held", "is_internal", "on_demand_viewers", "no_show_replay_viewers",
    "reached",
)
# A renamed mart column must fail here, not silently leave the comparison.
assert set(WEBINAR_COLUMNS) <= set(mart_columns("webinar_attendance")), "see the mart's contract"


def load_all(stack: Any, interval_end: datetime, sources: Iterable[str] = SOURCES) -> dict[str, Any]:
    """Move the sandbox clock to ``interval_end`` and run ``extract_load`` for each source.

    Returns:
        The ``extract_load`` summary per source.
    """
    from webinar_dwh import pipeline

    stack.sandbox.configure(as_of=interval_end)
    run = pipeline.RunInfo.manual(interval_end)
    return {src: pipeline.extract_load(src, run) for src in sources}


def build_and_publish(
    stack: Any, interval_end: datetime, *, seed: bool = False, validate: bool = True
) -> dict[str, Any]:
    """``dbt [seed +] build`` as of ``interval_end`` (or the newest published cut-off, if later:
    ``pipeline.build_as_of``), the GX gate, then ``publish``.

    Args:
        stack: The harness stack (its environment must be active).
        interval_end: The run's data-interval end (dbt's ``as_of``).
        seed: Run ``dbt seed`` first (once per database is enough: the catalog map persists).
        validate: Run the GX gate before publishing (the pipeline always does; a reference
            build may skip it).

    Returns:
        Seconds per step and the publish result.
    """
    from webinar_dwh import pipeline
    from webinar_dwh.dbt_runner import run_dbt

    run = pipeline.RunInfo.manual(interval_end)
    dbt_vars = pipeline.dbt_build_vars(run, pipeline.build_as_of(run))
    timings: dict[str, float] = {}
    for args in ([["seed"]] if seed else []) + [["build"]]:
        started = time.monotonic()
        res = run_dbt(args, dbt_vars=dbt_vars)
        timings[f"dbt {args[0]}"] = round(time.monotonic() - started, 1)
        if not res.success:
            failed = [
                (getattr(r.node, "name", "?"), str(r.status), (r.message or "")[:300])
                for r in (getattr(res.result, "results", None) or [])
                if str(r.status) not in {"success", "pass", "skipped"}
            ]
            raise AssertionError(f"dbt {args[0]} failed: {res.exception or failed}")
    if validate:
        started = time.monotonic()
        pipeline.validate_build(run)
        timings["gx"] = round(time.monotonic() - started, 1)
        published = pipeline.publish(run)
    else:  # the swap alone: publish checks that the gate validated the build
        from webinar_dwh.warehouse.publish import publish_marts

        with pipeline.warehouse_connection() as conn:
            published = publish_marts(conn, dag_run_id=run.dag_run_id).as_dict()
    return {"timings": timings, "published": published}


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def truth_mismatches(
    stack: Any, truth: dict[str, Any], *, ignore_catalog_for: Iterable[str] = ()
) -> list[tuple[Any, Any, Any]]:
    """Differences between ``marts.webinar_attendance`` (read as ``bi_reader``) and the truth.

    Args:
        stack: The harness stack.
        truth: ``sandbox.truth(...)`` (computed from the generator, never from the pipeline).
        ignore_catalog_for: Webinar ids whose course/language are not compared (the sandbox's
            ground truth maps titles it generated, not the hostile ones it served instead).

    Returns:
        ``(key, got, want)`` per differing webinar (only the differing columns);
        ``("webinar set", missing, extra)`` first when the sets of webinars differ.
    """
    skip = set(ignore_catalog_for)
    want_rows = {(w["platform"], w["webinar_id"]): w for w in truth["webinars"]}
    rows = stack.query(
        "select platform, webinar_id, " + ", ".join(WEBINAR_COLUMNS) + " from marts.webinar_attendance",
        as_bi=True,
    )
    got_rows = {(r[0], r[1]): r[2:] for r in rows}
    if set(got_rows) != set(want_rows):
        missing, extra = sorted(set(want_rows) - set(got_rows)), sorted(set(got_rows) - set(want_rows))
        return [("webinar set", missing[:5], extra[:5])]
    mismatches = []
    for key, w in want_rows.items():
        r = dict(zip(WEBINAR_COLUMNS, got_rows[key], strict=True))
        got = {
            **r,
            "webinar_date": r["webinar_date"].isoformat(),
            "show_up_rate": round(_num(r["show_up_rate"]), 6) if r["show_up_rate"] is not None else None,
            "avg_minutes_attended": _num(r["avg_minutes_attended"]),
        }
        want = {k: w[k] for k in WEBINAR_COLUMNS}
        if not w["registered"]:
            want["show_up_rate"] = None  # design rule: no rate without registrations
        rates = (got["show_up_rate"], want["show_up_rate"])
        if None not in rates and abs(rates[0] - rates[1]) <= 1.5e-6:
            # a rate ending in 5 at the 7th decimal (122/256 = 0.4765625): the mart rounds half up
            # (numeric), the truth rounds a float
            got["show_up_rate"] = want["show_up_rate"]
        if key[1] in skip:
            got["course"], got["language"] = want["course"], want["language"]
        if got != want:
            differing = [k for k in got if got[k] != want[k]]
            mismatches.append((key, {k: got[k] for k in differing}, {k: want[k] for k in differing}))
    return mismatches + pace_mismatches(stack, truth) + audience_mismatches(stack, truth, skip)


def audience_mismatches(
    stack: Any, truth: dict[str, Any], ignore_catalog_for: Iterable[str] = ()
) -> list[tuple[Any, Any, Any]]:
    """Differences between the audience marts (channels, new/returning, cohorts, engagement,
    recording) and the truth's registrations (``sandbox.audience_truth``):
    ``((mart, *key), got, want)``, at most 10 per mart. Webinars in ``ignore_catalog_for`` take
    their course and language from the published dim_webinars (the truth maps the titles it
    generated, not the hostile ones served instead)."""
    from sandbox import audience_truth

    skip = set(ignore_catalog_for)
    if skip:
        published = {
            (r[0], r[1]): (r[2], r[3])
            for r in stack.query("select platform, webinar_id, course, language from marts.dim_webinars")
        }
        webinars = [
            {**w, "course": published[key][0], "language": published[key][1]}
            if (key := (w["platform"], w["webinar_id"])) in published and w["webinar_id"] in skip
            else w
            for w in truth["webinars"]
        ]
        truth = {**truth, "webinars": webinars}
    as_of = datetime.fromisoformat(truth["as_of"].replace("Z", "+00:00"))
    comparisons: list[tuple[str, tuple[str, ...], int, dict[tuple[Any, ...], dict[str, Any]]]] = [
        (
            "channel_performance",
            ("webinar_month", "platform", "course", "language", "channel", "registrations", "attended",
             "show_up_rate", "share_of_registrations"),
            5,
            audience_truth.channel_performance(truth),
        ),
        (
            "audience_monthly",
            ("webinar_month", "course", "language", "registrants", "new_registrants", "attendees",
             "repeat_attendees"),
            3,
            audience_truth.audience_monthly(truth),
        ),
        (
            "audience_cohorts",
            ("cohort_month", "first_course", "first_language", "cohort_size", "registered_again_30d",
             "registered_again_90d", "registered_again_180d", "attended_again_30d", "attended_again_90d",
             "attended_again_180d"),
            3,
            audience_truth.audience_cohorts(truth, as_of, truth["timezone"]),
        ),
        (
            "webinar_engagement",
            ("platform", "webinar_id", "registered", "attended", "avg_engagement_score", "replay_viewers",
             "no_show_replay_viewers", "stayed_15m", "stayed_30m", "stayed_60m"),
            2,
            audience_truth.webinar_engagement(truth),
        ),
    ]
    mismatches: list[tuple[Any, Any, Any]] = []
    for mart, columns, key_width, want in comparisons:
        where = " where registered > 0" if mart == "webinar_engagement" else ""
        rows = stack.query(f"select {', '.join(columns)} from marts.{mart}{where}", as_bi=True)
        got = {
            tuple(str(v) for v in r[:key_width]): dict(zip(columns[key_width:], r[key_width:], strict=True))
            for r in rows
        }
        found = [
            ((mart, *key), got.get(key), want.get(key))
            for key in sorted(set(got) | set(want))
            if got.get(key) != want.get(key)
        ]
        mismatches += found[:10]
    return mismatches


def pace_mismatches(stack: Any, truth: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """Differences between ``marts.registration_pace`` (BigMarker webinars, known points) and
    the truth's registration curves: ``(("pace", webinar_id, days_before), got, want)``."""
    want = {
        (p["webinar_id"], p["days_before"]): p["registrations"]
        for p in truth["registration_pace"]
    }
    got = {
        (r[0], r[1]): r[2]
        for r in stack.query(
            "select webinar_id, days_before, registrations from marts.registration_pace "
            "where platform = 'bigmarker' and registrations is not null and webinar_id = any(%s)",
            (sorted({w for w, _ in want}),),
            as_bi=True,
        )
    }
    return [
        (("pace", *key), got.get(key), want.get(key))
        for key in sorted(set(want) | set(got))
        if got.get(key) != want.get(key)
    ][:10]


def attendance_numbers(stack: Any) -> dict[tuple[str, str], tuple[int, int | None]]:
    """``(registered, attended)`` per published webinar (attended ``None`` while upcoming)."""
    rows = stack.query("select platform, webinar_id, registered, attended from marts.webinar_attendance")
    return {(r[0], r[1]): (int(r[2]), None if r[3] is None else int(r[3])) for r in rows}
