"""Ground truth: the numbers the marts must show, computed straight from the generator's objects.

Independent of HTTP and of the pipeline: it reads the planned universe, applies the clock (``as_of``),
drops what the sandbox serves malformed (the pipeline quarantines those), and implements the business
rules of docs/design.md §"Business rules":

* A webinar is one BigMarker conference or one Zoom instance (an occurrence that has ended by
  ``as_of``; future Zoom occurrences have no instance yet).
* ``registered``: distinct ``lower(trim(email))`` — BigMarker registrations created by ``as_of``;
  legacy: Calendly invitees that are active at ``as_of`` of the event(s) matched to the instance.
* ``attended``: registered people among the attendees / participants (legacy compares e-mails with the
  plus-part removed); ``walk_ins``: distinct attendees who did not register.
* ``avg_minutes_attended``: mean over attended people of (sum of their durations in seconds / 60),
  rounded half-up to 2 decimals; ``None`` when nobody attended.
* ``is_held``: the (served) start time is before ``as_of``; not-held (upcoming) webinars keep their
  registrations so far, and their ``attended``, ``walk_ins``, ``show_up_rate`` and
  ``avg_minutes_attended`` are ``None`` (unknown, not 0).
* Course / language: the catalog seed (:func:`catalog_seed_rows`) — exact ``(platform, webinar_id)``
  first, then the ILIKE pattern with the lowest priority; an empty seed language falls back to the
  platform's own language field (BigMarker ``language``; Zoom has none); unknown → ``'unmapped'``.
* Vendor values are data (``Faults.surprises`` serves unseen ones): the platform's language as
  served is bucketed by :func:`language_bucket` (trim, lower-case, primary subtag, an object's
  ``code``; outside :data:`LANGUAGES` → ``'other'``; nothing → no language); a Calendly invitee
  is a registration unless :func:`is_cancellation` says its served status is a cancellation.

Calendly ↔ Zoom matching (reported in ``legacy_matches``): an event with a Zoom ``join_url`` matches
the instances of that Zoom webinar starting within 15 minutes of the event; an event without one
matches any instance within 15 minutes. Exactly one candidate → matched (``join_url`` / ``time``);
several → ``ambiguous`` (not matched); none → ``unmatched``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.audience import calendly_channel
from sandbox.config import Faults
from sandbox.faults import malformation, shift_to_2099, surprise
from sandbox.generator import LANGUAGES, MATCH_TOLERANCE_S, Universe, _ts, catalog_rows, iso_z, strip_plus

CATALOG_COLUMNS = ("platform", "webinar_id", "title_pattern", "course", "language", "priority")
_SANDBOX_SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "sandbox_seeds"
CATALOG_CSV = _SANDBOX_SEEDS / "webinar_catalog_map.csv"
"""The sandbox's catalog seed: the demo and the tests point dbt at its folder (``DWH_DBT_SEED_DIR``)."""
WEBINAR_COLUMNS = (
    "platform",
    "webinar_id",
    "title",
    "start_time",
    "webinar_date",
    "course",
    "language",
    "registered",
    "attended",
    "walk_ins",
    "show_up_rate",
    "avg_minutes_attended",
    "is_held",
    "zoom_webinar_id",
    "calendly_event_uuid",
    "match_method",
)
_ZOOM_ID = re.compile(r"zoom\.us/[jw]/(\d+)")


def catalog_seed_rows() -> list[dict[str, Any]]:
    """Rows of the sandbox's catalog seed :data:`CATALOG_CSV` (same for every seed and scale)."""
    return catalog_rows()


def catalog_csv_text() -> str:
    """The catalog seed as CSV text (header + rows)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CATALOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(catalog_seed_rows())
    return buf.getvalue()


def write_catalog_csv(path: Path | str = CATALOG_CSV) -> Path:
    """Write the catalog seed CSV (default :data:`CATALOG_CSV`) and return its path."""
    path = Path(path)
    path.write_text(catalog_csv_text(), encoding="utf-8")
    return path


@lru_cache(maxsize=256)
def _ilike(pattern: str) -> re.Pattern[str]:
    """SQL ``ILIKE`` pattern → compiled regex (``%`` any run, ``_`` one character)."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def map_course_language(
    platform: str, webinar_id: str, title: str, platform_language: str | None
) -> tuple[str, str]:
    """Course and language of a webinar under the catalog seed's rules."""
    rows = [r for r in catalog_seed_rows() if r["platform"] == platform]
    hit = next((r for r in rows if r["webinar_id"] and r["webinar_id"] == webinar_id), None)
    if hit is None:
        matching = [
            r for r in rows if r["title_pattern"] and _ilike(r["title_pattern"]).fullmatch(title or "")
        ]
        hit = min(matching, key=lambda r: (r["priority"], r["title_pattern"]), default=None)
    course = (hit or {}).get("course") or "unmapped"
    language = (hit or {}).get("language") or platform_language or "unmapped"
    return course, language


def language_bucket(value: Any) -> str | None:
    """The language a platform's language field stands for (docs/design.md, "Vendor values").

    ``" EN-us "`` → ``"en"``; ``{"code": "FR"}`` → ``"fr"``; a code outside :data:`LANGUAGES`
    (``"ru"``) → ``"other"``; ``None`` / empty → ``None`` (the catalog or ``'unmapped'`` decides).
    """
    if isinstance(value, dict):
        value = value.get("code")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    code = re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]
    if not code:
        return None
    return code if code in LANGUAGES else "other"


def is_cancellation(status: str) -> bool:
    """Whether a served Calendly invitee status cancels the registration (only 'canceled')."""
    return status.strip().lower() in ("canceled", "cancelled")


def _norm(email: str) -> str:
    return email.strip().lower()


def _avg_minutes(seconds_per_person: list[int]) -> float | None:
    if not seconds_per_person:
        return None
    value = Decimal(sum(seconds_per_person)) / Decimal(60 * len(seconds_per_person))
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def merged_seconds(sessions: list[tuple[int, int, int]]) -> int:
    """Seconds attended from ``(join, leave, vendor duration)`` sessions of one person: sessions
    that overlap (a second device) count once, from the first join to the last leave; a session
    overlapping none keeps the vendor's duration (docs/design.md, "Minutes watched")."""
    total, island, island_end = 0, [], None
    for join, leave, duration in sorted(sessions):
        if island and join > island_end:
            total += _island_seconds(island)
            island = []
        island.append((join, leave, duration))
        island_end = leave if island_end is None or len(island) == 1 else max(island_end, leave)
    return total + (_island_seconds(island) if island else 0)


def _island_seconds(island: list[tuple[int, int, int]]) -> int:
    if len(island) == 1:
        return island[0][2]
    return max(leave for _, leave, _ in island) - min(join for join, _, _ in island)


def engagement_score(seconds: int, duration_min: int, interaction: Fraction | None) -> Decimal | None:
    """The engagement score of one attended registration: 100 x (0.7 x watch share + 0.3 x
    interaction), the watch share capped at 1; ``interaction`` ``None``: the watch share stands
    in. Exact rational arithmetic, rounded half up to 1 decimal (fct_registrations' YAML)."""
    if not duration_min:
        return None
    watch = Fraction(min(seconds, 60 * duration_min), 60 * duration_min)
    share = watch if interaction is None else interaction
    score = 100 * (Fraction(7, 10) * watch + Fraction(3, 10) * share)
    return (Decimal(score.numerator) / Decimal(score.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def _row(
    platform: str,
    webinar_id: str,
    title: str,
    start_ts: int,
    tz: ZoneInfo,
    course: str,
    language: str,
    registered: set[str],
    attended: dict[str, int],
    walk_ins: set[str],
    is_held: bool,
    **extra: Any,
) -> dict[str, Any]:
    n_reg, n_att = len(registered), len(attended)
    return {
        "platform": platform,
        "webinar_id": webinar_id,
        "title": title,
        "start_time": iso_z(start_ts),
        "webinar_date": datetime.fromtimestamp(start_ts, tz).date().isoformat(),
        "course": course,
        "language": language,
        "registered": n_reg,
        # Not held yet: attendance is unknown, so None (null in the marts), never 0.
        "attended": n_att if is_held else None,
        "walk_ins": len(walk_ins) if is_held else None,
        "show_up_rate": round(n_att / n_reg, 6) if n_reg and is_held else None,
        "avg_minutes_attended": _avg_minutes(list(attended.values())) if is_held else None,
        "is_held": is_held,
        "zoom_webinar_id": None,
        "calendly_event_uuid": None,
        "match_method": None,
        **extra,
    }


def compute_truth(
    universe: Universe,
    as_of: datetime,
    faults: Faults | None = None,
    timezone: str = "Europe/Berlin",
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> dict[str, Any]:
    """The ground truth of ``universe`` at ``as_of`` under ``faults``.

    Args:
        universe: The generated universe.
        as_of: The clock (UTC).
        faults: Fault switches in force (malformed records and unavailable reports are excluded,
            ``bad_webinar_dates`` start times are used as served).
        timezone: IANA zone for ``webinar_date``.
        window_start: Keep webinars starting at or after this instant (optional).
        window_end: Keep webinars starting before this instant (optional): ``[start, end)``.

    Returns:
        ``{"as_of", "seed", "scale", "timezone", "webinars": [...], "legacy_matches": [...],
        "registration_pace": [...], "summary"}``;
        webinars sorted by ``(start_time, platform, webinar_id)``.
    """
    faults = faults or Faults()
    tz = ZoneInfo(timezone)
    now = int(as_of.timestamp())
    pace: list[dict[str, Any]] = []
    registrations: list[dict[str, Any]] = []
    webinars = _bigmarker_truth(universe, now, faults, tz, pace, registrations)
    legacy, matches = _legacy_truth(universe, now, faults, tz, registrations)
    webinars.extend(legacy)
    lo = int(window_start.timestamp()) if window_start else None
    hi = int(window_end.timestamp()) if window_end else None

    def in_window(w: dict[str, Any]) -> bool:
        ts = int(datetime.fromisoformat(w["start_time"].replace("Z", "+00:00")).timestamp())
        return (lo is None or ts >= lo) and (hi is None or ts < hi)

    webinars = sorted(
        filter(in_window, webinars), key=lambda w: (w["start_time"], w["platform"], w["webinar_id"])
    )
    kept = {w["webinar_id"] for w in webinars}
    summary: dict[str, Any] = {}
    for platform in ("bigmarker", "legacy"):
        rows = [w for w in webinars if w["platform"] == platform]
        summary[platform] = {
            "webinars": len(rows),
            "held": sum(w["is_held"] for w in rows),
            "registered": sum(w["registered"] for w in rows),
            "attended": sum(w["attended"] for w in rows if w["is_held"]),
            "walk_ins": sum(w["walk_ins"] for w in rows if w["is_held"]),
            "unmapped_course": sum(w["course"] == "unmapped" for w in rows),
        }
    summary["matches"] = {
        m: sum(x["method"] == m for x in matches) for m in ("join_url", "time", "ambiguous", "unmatched")
    }
    return {
        "as_of": iso_z(now),
        "seed": universe.seed,
        "scale": universe.scale,
        "timezone": timezone,
        "webinars": webinars,
        "legacy_matches": matches,
        # BigMarker webinars' registration curves (marts.registration_pace), in the window.
        "registration_pace": [point for point in pace if point["webinar_id"] in kept],
        # One per registration (platform, webinar, normalised e-mail) of the webinars kept, with
        # its intended channel, attendance, engagement and replay: sandbox.audience_truth
        # derives the audience marts from these.
        "registrations": [r for r in registrations if r["webinar_id"] in kept],
        "summary": summary,
    }


PACE_MAX_DAYS = 42
"""Curve points of the registration pace (dbt var ``pace_max_days``)."""
PACE_HISTORY_DAYS = 730
"""Webinars older than this (start before the clock minus these days) have no curve (dbt var
``pace_history_days``)."""


def pace_points(first_registered: list[int], start: int, now: int) -> list[dict[str, int]]:
    """A webinar's registration curve: registrations made at least ``d`` whole days before
    ``start`` for every ``d`` in 0..42 whose moment ``start - d days`` is not after ``now``."""
    day = 86_400
    return [
        {"days_before": d, "registrations": sum(ts <= start - d * day for ts in first_registered)}
        for d in range(PACE_MAX_DAYS + 1)
        if start - d * day <= now
    ]


_BIGMARKER_COUNTERS = ("engaged_duration", "chats_count", "qas_count", "polls_count")


def _recording(
    is_held: bool, registered: set[str], attended: dict[str, int], live: set[str], viewers: set[str]
) -> dict[str, int | None]:
    """The recording columns of webinar_attendance (null until held)."""
    if not is_held:
        return {"on_demand_viewers": None, "no_show_replay_viewers": None, "reached": None}
    return {
        "on_demand_viewers": len(viewers),
        "no_show_replay_viewers": len((registered - set(attended)) & viewers),
        "reached": len(live | viewers),
    }


def _bigmarker_truth(
    universe: Universe,
    now: int,
    faults: Faults,
    tz: ZoneInfo,
    pace: list[dict[str, Any]] | None = None,
    registrations: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    seed, rate = universe.seed, faults.malformed_rate
    bad_dates = universe.bad_date_ids if faults.bad_webinar_dates else frozenset()
    registrations = [] if registrations is None else registrations
    out = []
    for conf in universe.conferences:
        if conf.created_ts > now or malformation(seed, "bigmarker_conferences", conf.id, rate):
            continue
        start, end = conf.start_ts, conf.end_ts
        if conf.id in bad_dates:
            start, end = shift_to_2099(start), shift_to_2099(end)
        children = universe.bigmarker_children(conf)
        first_registered: dict[str, int] = {}
        for reg, ts in zip(children.registrations, children.registered_ts, strict=True):
            if ts <= now and not malformation(
                seed, "bigmarker_registrations", f"{conf.id}:{reg['bmid']}", rate
            ):
                email = _norm(reg["email"])
                first_registered[email] = min(ts, first_registered.get(email, ts))
        registered = set(first_registered)
        internal = conf.id in universe.internal_ids
        # Internal sessions are nobody's comparable: they have no curve.
        if pace is not None and start >= now - PACE_HISTORY_DAYS * 86_400 and not internal:
            pace.extend(
                {"platform": "bigmarker", "webinar_id": conf.id, **point}
                for point in pace_points(list(first_registered.values()), start, now)
            )
        is_held = start < now
        sessions: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        counters: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        if is_held and end <= now:
            for att in children.attendees:
                if not malformation(seed, "bigmarker_attendees", f"{conf.id}:{att['id']}", rate):
                    email = _norm(att["email"])
                    joined, left = _ts(att["entered_at"]), _ts(att["leaved_at"])
                    sessions[email].append((joined, left, att["total_duration"]))
                    for k, field in enumerate(_BIGMARKER_COUNTERS):
                        counters[email][k] += att[field]
        seconds = {e: merged_seconds(v) for e, v in sessions.items()}
        attended = {e: s for e, s in seconds.items() if e in registered}
        walk_ins = set(seconds) - registered
        # The recording: views served by the clock (none before the webinar is held).
        replay: dict[str, int] = defaultdict(int)
        if is_held:
            for view, ts in zip(children.on_demand, children.on_demand_ts, strict=True):
                key = f"{conf.id}:{view['id']}"
                if ts <= now and not malformation(seed, "bigmarker_on_demand_attendees", key, rate):
                    replay[_norm(view["email"])] += int(view["on_demand_duration"])
        channel_of = {
            _norm(reg["email"]): channel
            for reg, channel in zip(children.registrations, children.channels, strict=True)
        }
        for email, ts in first_registered.items():
            came = is_held and email in attended
            counts = counters[email] if came else None
            registrations.append(
                {
                    "platform": "bigmarker",
                    "webinar_id": conf.id,
                    "person": email,
                    "registered_ts": ts,
                    "channel": channel_of[email],
                    "attended": came,
                    "seconds": attended[email] if came else 0,
                    "engaged_seconds": counts[0] if counts else None,
                    "interactions": sum(counts[1:]) if counts else None,
                    "attentiveness": None,
                    "watched_replay": email in replay,
                    "replay_seconds": replay.get(email),
                    "duration_min": conf.duration_min,
                }
            )
        served = {"language": conf.language}
        if faults.surprises:
            served.update(surprise(seed, "bigmarker_conferences", conf.id, {}))
        course, language = map_course_language(
            "bigmarker", conf.id, conf.title, language_bucket(served["language"])
        )
        out.append(
            _row(
                "bigmarker",
                conf.id,
                conf.title,
                start,
                tz,
                course,
                language,
                registered,
                attended,
                walk_ins,
                is_held,
                is_internal=internal,
                **_recording(is_held, registered, attended, set(seconds), set(replay)),
            )
        )
    return out


def _calendly_channel(seed: int, invitee_uuid: str, faults: Faults) -> str:
    """The channel of an invitee as served: a surprise serving ``tracking: null`` leaves no
    signal at all (``direct``)."""
    if faults.surprises:
        patch = surprise(seed, "calendly_invitees", invitee_uuid, {"status": "active"})
        if "tracking" in patch and patch["tracking"] is None:
            return "direct"
    return calendly_channel(seed, invitee_uuid)[0]


def _legacy_truth(
    universe: Universe,
    now: int,
    faults: Faults,
    tz: ZoneInfo,
    registrations: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seed, rate = universe.seed, faults.malformed_rate
    registrations = [] if registrations is None else registrations
    instances = [
        o
        for o in universe.zoom_occurrences
        if o.end_ts <= now and universe.zoom_webinar_by_id[o.webinar_id].created_ts <= now
    ]
    matches: list[dict[str, Any]] = []
    events_of: dict[str, list[int]] = defaultdict(list)
    for ev in universe.calendly_events:
        if ev.created_ts > now or malformation(seed, "calendly_scheduled_events", ev.uuid, rate):
            continue
        m = _ZOOM_ID.search(ev.join_url or "")
        zoom_id = int(m.group(1)) if m else None
        cands = [
            o
            for o in instances
            if abs(o.start_ts - ev.start_ts) <= MATCH_TOLERANCE_S
            and (zoom_id is None or o.webinar_id == zoom_id)
        ]
        if len(cands) == 1:
            method = "join_url" if zoom_id is not None else "time"
            events_of[cands[0].uuid].append(ev.index)
        else:
            method = "ambiguous" if cands else "unmatched"
        matches.append(
            {
                "calendly_event_uuid": ev.uuid,
                "calendly_start_time": iso_z(ev.start_ts),
                "join_url": ev.join_url,
                "method": method,
                "zoom_instance_uuid": cands[0].uuid if len(cands) == 1 else None,
                "zoom_webinar_id": cands[0].webinar_id if len(cands) == 1 else zoom_id,
                "candidates": [o.uuid for o in cands],
            }
        )
    method_of = {m["calendly_event_uuid"]: m["method"] for m in matches}
    no_report = set(faults.zoom_no_report_ids) | set(faults.zoom_not_licensed_ids)
    out = []
    for occ in instances:
        registered: set[str] = set()
        first_booking: dict[str, tuple[int, str]] = {}
        for e_i in events_of.get(occ.uuid, []):
            for inv in universe.calendly_invitees(universe.calendly_events[e_i]):
                status = "active" if inv.canceled_ts is None or inv.canceled_ts > now else "canceled"
                if faults.surprises:
                    served = surprise(seed, "calendly_invitees", inv.uuid, {"status": status})
                    status = served.get("status", status)
                active = not is_cancellation(status)
                if (
                    inv.created_ts <= now
                    and active
                    and not malformation(seed, "calendly_invitees", inv.uuid, rate)
                ):
                    registered.add(_norm(inv.email))
                    booking, email = (inv.created_ts, inv.uuid), _norm(inv.email)
                    first_booking[email] = min(booking, first_booking.get(email, booking))
        sessions: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        scores: dict[str, list[int]] = defaultdict(list)
        if occ.webinar_id not in no_report:
            for p in universe.zoom_participants(occ):
                key = f"{occ.uuid}:{p['id']}:{p['join_time']}"
                if not malformation(seed, "zoom_participants", key, rate):
                    person = strip_plus(p["user_email"])
                    sessions[person].append((_ts(p["join_time"]), _ts(p["leave_time"]), p["duration"]))
                    score = p["attentiveness_score"]
                    if faults.surprises:  # a surprise may serve the score as null
                        score = surprise(seed, "zoom_participants", key, p).get("attentiveness_score", score)
                    if score:
                        scores[person].append(int(score))
        seconds = {e: merged_seconds(v) for e, v in sessions.items()}
        attended = {e: seconds[strip_plus(e)] for e in registered if strip_plus(e) in seconds}
        walk_ins = set(seconds) - {strip_plus(e) for e in registered}
        is_held = occ.start_ts < now
        duration_min = universe.zoom_webinar_by_id[occ.webinar_id].duration_min
        for email, (ts, invitee_uuid) in first_booking.items():
            came = is_held and email in attended
            person_scores = scores.get(strip_plus(email)) if came else None
            registrations.append(
                {
                    "platform": "legacy",
                    "webinar_id": occ.uuid,
                    "person": email,
                    "registered_ts": ts,
                    "channel": _calendly_channel(seed, invitee_uuid, faults),
                    "attended": came,
                    "seconds": attended[email] if came else 0,
                    "engaged_seconds": None,
                    "interactions": None,
                    "attentiveness": sum(person_scores) / len(person_scores) if person_scores else None,
                    "watched_replay": False,
                    "replay_seconds": None,
                    "duration_min": duration_min,
                }
            )
        course, language = map_course_language("legacy", occ.uuid, occ.topic, None)
        event_uuids = [universe.calendly_events[e_i].uuid for e_i in events_of.get(occ.uuid, [])]
        out.append(
            _row(
                "legacy",
                occ.uuid,
                occ.topic,
                occ.start_ts,
                tz,
                course,
                language,
                registered,
                attended,
                walk_ins,
                is_held,
                is_internal=False,
                **_recording(is_held, registered, attended, set(seconds), set()),
                zoom_webinar_id=occ.webinar_id,
                calendly_event_uuid=event_uuids[0] if event_uuids else None,
                match_method=method_of[event_uuids[0]] if event_uuids else None,
            )
        )
    return out, matches


def truth_csv_text(truth: dict[str, Any]) -> str:
    """The ``webinars`` of a truth dict as CSV text."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=WEBINAR_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(truth["webinars"])
    return buf.getvalue()


__all__ = [
    "CATALOG_COLUMNS",
    "catalog_csv_text",
    "catalog_seed_rows",
    "compute_truth",
    "is_cancellation",
    "language_bucket",
    "map_course_language",
    "truth_csv_text",
    "write_catalog_csv",
]
