"""Ground truth of the audience marts, derived from ``compute_truth(...)["registrations"]``.

Each registration there carries the channel the generator *intended* (not the warehouse's seed
mapping), its attendance from merged sessions, its engagement counters and whether the person
watched the recording. The functions here aggregate them the way docs/bi_marts.md defines the
marts — in Python, independently of the dbt SQL — keyed like the marts' grains.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.truth import engagement_score

DAY = 86_400
COHORT_WINDOWS = (30, 90, 180)
STAY_MINUTES = (15, 30, 60)


def _round(value: Decimal | float, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _webinars(truth: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(w["platform"], w["webinar_id"]): w for w in truth["webinars"]}


def _month(day: str) -> str:
    return day[:8] + "01"


def _interaction(r: dict[str, Any]) -> Fraction | None:
    if r["platform"] == "bigmarker":
        return Fraction(min(3, r["interactions"] or 0), 3)
    return None if r["attentiveness"] is None else Fraction(_round(r["attentiveness"], 1)) / 100


def registration_score(r: dict[str, Any]) -> Decimal | None:
    """fct_registrations.engagement_score of one truth registration."""
    if not r["attended"]:
        return None
    return engagement_score(r["seconds"], r["duration_min"], _interaction(r))


def channel_performance(truth: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """``(month, platform, course, language, channel) -> registrations, attended, show_up_rate,
    share_of_registrations`` over held webinars that are not internal."""
    webinars = _webinars(truth)
    cells: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
    for r in truth["registrations"]:
        w = webinars[(r["platform"], r["webinar_id"])]
        if not w["is_held"] or w["is_internal"]:
            continue
        key = (_month(w["webinar_date"]), r["platform"], w["course"], w["language"], r["channel"])
        cells[key][0] += 1
        cells[key][1] += r["attended"]
    groups: dict[tuple[str, ...], int] = defaultdict(int)
    for key, (n, _) in cells.items():
        groups[key[:4]] += n
    return {
        key: {
            "registrations": n,
            "attended": a,
            "show_up_rate": _round(Decimal(a) / n, 6),
            "share_of_registrations": _round(Decimal(n) / groups[key[:4]], 6),
        }
        for key, (n, a) in cells.items()
    }


def _kept(truth: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(registration, webinar)`` pairs of the webinars that are not internal."""
    webinars = _webinars(truth)
    pairs = [(r, webinars[(r["platform"], r["webinar_id"])]) for r in truth["registrations"]]
    return [(r, w) for r, w in pairs if not w["is_internal"]]


def audience_monthly(truth: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, int]]:
    """``(month, course, language) -> registrants, new_registrants, attendees, repeat_attendees``."""
    pairs = _kept(truth)
    first: dict[str, int] = {}
    for r, _ in pairs:
        first[r["person"]] = min(r["registered_ts"], first.get(r["person"], r["registered_ts"]))
    attended_starts: dict[str, list[str]] = defaultdict(list)
    for r, w in pairs:
        if r["attended"]:
            attended_starts[r["person"]].append(w["start_time"])
    cells: dict[tuple[str, str, str], list[set[str]]] = defaultdict(lambda: [set(), set(), set(), set()])
    for r, w in pairs:
        cell = cells[(_month(w["webinar_date"]), w["course"], w["language"])]
        cell[0].add(r["person"])
        if r["registered_ts"] == first[r["person"]]:
            cell[1].add(r["person"])
        if r["attended"]:
            cell[2].add(r["person"])
            if any(start < w["start_time"] for start in attended_starts[r["person"]]):
                cell[3].add(r["person"])
    return {
        key: {
            "registrants": len(c[0]),
            "new_registrants": len(c[1]),
            "attendees": len(c[2]),
            "repeat_attendees": len(c[3]),
        }
        for key, c in cells.items()
    }


def audience_cohorts(
    truth: dict[str, Any], as_of: datetime, timezone: str = "Europe/Berlin"
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """``(cohort month, first course, first language) -> cohort_size`` and the shares who
    registered / attended again within each window (``None`` until the window is complete)."""
    tz = ZoneInfo(timezone)
    pairs = sorted(_kept(truth), key=lambda rw: (rw[0]["person"], rw[0]["registered_ts"]))
    people: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for r, w in pairs:
        people[r["person"]].append((r, w))
    cohorts: dict[tuple[str, str, str], list[tuple[float | None, float | None]]] = defaultdict(list)
    for regs in people.values():
        first, first_webinar = regs[0]
        first_ts = first["registered_ts"]
        local = datetime.fromtimestamp(first_ts, tz).date()
        key = (local.replace(day=1).isoformat(), first_webinar["course"], first_webinar["language"])
        later = regs[1:]
        to_registration = min(((r["registered_ts"] - first_ts) / DAY for r, _ in later), default=None)
        to_attendance = min(
            ((_epoch(w["start_time"]) - first_ts) / DAY for r, w in later if r["attended"]), default=None
        )
        cohorts[key].append((to_registration, to_attendance))
    out = {}
    for key, members in cohorts.items():
        month = date.fromisoformat(key[0])
        end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=tz)
        row: dict[str, Any] = {"cohort_size": len(members)}
        for days in COHORT_WINDOWS:
            complete = end + timedelta(days=days) <= as_of
            for name, index in (("registered", 0), ("attended", 1)):
                hits = sum(1 for m in members if m[index] is not None and m[index] <= days)
                row[f"{name}_again_{days}d"] = _round(Decimal(hits) / len(members), 6) if complete else None
        out[key] = row
    return out


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def webinar_engagement(truth: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(platform, webinar_id) -> stayed_15m/30m/60m, avg_engagement_score, replay viewers``
    of every held webinar with registrations."""
    webinars = _webinars(truth)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in truth["registrations"]:
        if webinars[(r["platform"], r["webinar_id"])]["is_held"]:
            groups[(r["platform"], r["webinar_id"])].append(r)
    out = {}
    for key, regs in groups.items():
        came = [r for r in regs if r["attended"]]
        scores = [s for s in map(registration_score, came) if s is not None]
        row: dict[str, Any] = {
            "registered": len(regs),
            "attended": len(came),
            "avg_engagement_score": _round(sum(scores) / len(scores), 1) if scores else None,
            "replay_viewers": sum(r["watched_replay"] for r in regs),
            "no_show_replay_viewers": sum(r["watched_replay"] and not r["attended"] for r in regs),
        }
        for minutes in STAY_MINUTES:
            row[f"stayed_{minutes}m"] = sum(r["seconds"] >= 60 * minutes for r in came)
        out[key] = row
    return out
