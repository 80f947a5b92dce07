"""Hand-written vendor payloads for the dbt tests, each one there to prove a business rule.

``LOADS`` is a list of load batches ``(hours_ago, {raw_table: [(record_key, parent_key, payload)]})``
landed oldest first; a record in a later load supersedes the same key in an earlier one. The
expected mart numbers are written out by hand in ``test_dbt_build.py`` from docs/design.md.
"""

from __future__ import annotations

from typing import Any

PII_KEY = "dbt-test-pii-key"
AS_OF = "2025-03-10T00:00:00Z"

Row = tuple[str, str | None, dict[str, Any]]


def _conference(cid: str, title: str, language: str, start: str, end: str) -> Row:
    payload = {
        "id": cid,
        "title": title,
        "type": "live_webinar",
        "language": language,
        "start_time": start,
        "end_time": end,
        "duration": 60,
        "time_zone": "Berlin",
        "channel_id": "ch1",
        "webinar_stats": {"registrants": 0, "total_attendees": 0},
    }
    return cid, None, payload


def _with(row: Row, **changes: Any) -> Row:
    """``row`` with some payload fields replaced (a vendor value the pipeline has never seen)."""
    key, parent, payload = row
    return key, parent, {**payload, **changes}


def _registration(cid: str, bmid: str, email: str, at: str) -> Row:
    payload = {"email": email, "first_name": "X", "last_name": "Y", "bmid": bmid, "registered_at": at}
    return f"{cid}:{bmid}", cid, payload


def _attendee(cid: str, aid: str, email: str, seconds: int, entered: str) -> Row:
    payload = {
        "id": aid,
        "bmid": aid,
        "email": email,
        "entered_at": entered,
        "leaved_at": entered,
        "total_duration": seconds,
        "engaged_duration": seconds,
    }
    return f"{cid}:{aid}", cid, payload


def _event(uuid: str, start: str, join_url: str | None) -> Row:
    location = {"type": "zoom", "join_url": join_url} if join_url else {"type": "physical", "location": "tbd"}
    payload = {
        "uri": f"https://api.calendly.com/scheduled_events/{uuid}",
        "name": "Info-Webinar",
        "status": "active",
        "start_time": start,
        "end_time": start,
        "location": location,
        "event_type": "https://api.calendly.com/event_types/ET1",
        "invitees_counter": {"active": 1, "limit": 100, "total": 1},
    }
    return uuid, None, payload


def _invitee(uuid: str, event: str, email: str, status: str, created: str) -> Row:
    payload = {
        "uri": f"https://api.calendly.com/scheduled_events/{event}/invitees/{uuid}",
        "email": email,
        "name": "X Y",
        "status": status,
        "timezone": "Europe/Berlin",
        "event": f"https://api.calendly.com/scheduled_events/{event}",
        "created_at": created,
        "rescheduled": status == "canceled",
    }
    return uuid, event, payload


def _zoom_webinar(wid: str, topic: str, start: str) -> Row:
    payload = {
        "id": int(wid),
        "uuid": f"W{wid}==",
        "topic": topic,
        "type": 9,
        "start_time": start,
        "timezone": "Europe/Berlin",
        "duration": 60,
    }
    return wid, None, payload


def _instance(wid: str, iid: str, start: str) -> Row:
    return iid, wid, {"uuid": iid, "start_time": start}


def _participant(iid: str, pid: str, email: str, join: str, seconds: int) -> Row:
    payload = {
        "id": pid,
        "user_id": pid + join[-3:],
        "name": "X",
        "user_email": email,
        "join_time": join,
        "leave_time": join,
        "duration": seconds,
        "status": "in_meeting",
    }
    return f"{iid}:{pid}:{join}", iid, payload


# ---------------------------------------------------------------- BigMarker
C_DA = "bmda00001"  # held, pattern (EN) -> Data Analytics / en; rejoin, walk-in, duplicates
C_PM = "spcl0pm03"  # exact-id seed row beats the Data Analytics pattern; language from the platform
C_UNM = "bmunm0001"  # unmapped title; starts 23:30 UTC -> next day in Europe/Berlin
C_FUT = "bmfut0001"  # after as_of: is_held false, registrations count, attendance does not
# Vendor values are data: a language outside the accepted list ('ru' -> 'other', the raw value
# reported), an unseen type and time zone, counters nested one level deeper; none may block.
C_RU = "bmru00001"
C_ENUS = "bmenus001"  # ' EN-us ' -> 'en'; ' Webcast ' is a known type after trim + lower-case

BM_CONFERENCES_OLD = [
    _conference(C_DA, "Old title", "en", "2025-03-03T18:00:00+01:00", "2025-03-03T19:00:00+01:00")
]
BM_CONFERENCES = [
    _conference(
        C_DA,
        "Data Analytics — Intro session (EN)",
        "en",
        "2025-03-03T18:00:00+01:00",
        "2025-03-03T19:00:00+01:00",
    ),
    _conference(
        C_PM, "Data Analytics for Product Managers (EN)", "de", "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z"
    ),
    _conference(C_UNM, "Company all-hands", "en", "2025-03-04T23:30:00Z", "2025-03-05T00:30:00Z"),
    _conference(C_FUT, "UX Design: Live Q&A", "es", "2025-04-01T16:00:00+02:00", "2025-04-01T17:00:00+02:00"),
    _with(
        _conference(C_RU, "UX Design: Open house", "ru", "2025-03-08T10:00:00Z", "2025-03-08T11:00:00Z"),
        type="hybrid_summit",
        time_zone="Atlantis Standard Time",
        webinar_stats={"registrants": {"count": 3}, "total_attendees": "n/a"},
        surprise_field={"nested": {"deeper": [1, None]}},
    ),
    _with(
        _conference(
            C_ENUS, "Digital Marketing: Career talk", "x", "2025-03-09T10:00:00Z", "2025-03-09T11:00:00Z"
        ),
        language=" EN-us ",
        type=" Webcast ",
    ),
]
BM_REGISTRATIONS = [
    _registration(C_DA, "b1", "ann@example.com", "2025-03-01T10:00:00Z"),
    _registration(C_DA, "b2", " Bob@Example.com ", "2025-03-01T11:00:00Z"),
    _registration(C_DA, "b3", "carl@example.com", "2025-03-01T12:00:00Z"),
    # Same person under another bmid: one registration (distinct normalised e-mails).
    _registration(C_DA, "b4", "ANN@example.com", "2025-03-02T10:00:00Z"),
    _registration(C_PM, "b1", "ann@example.com", "2025-03-01T10:00:00Z"),
    _registration(C_FUT, "b1", "ann@example.com", "2025-03-05T10:00:00Z"),
    _registration(C_FUT, "b2", "bob@example.com", "2025-03-05T10:00:00Z"),
]
BM_ATTENDEES = [
    _attendee(C_DA, "a1", "ann@example.com", 600, "2025-03-03T17:00:00Z"),
    _attendee(C_DA, "a2", "Ann@Example.com", 900, "2025-03-03T17:20:00Z"),  # rejoin: summed
    _attendee(C_DA, "a3", "bob@example.com", 1200, "2025-03-03T17:00:00Z"),
    _attendee(C_DA, "a4", "dave@example.com", 300, "2025-03-03T17:05:00Z"),  # walk-in
    _attendee(C_PM, "a1", "ann@example.com", 1800, "2025-03-04T10:00:00Z"),
    # The source already shows someone for a future conference: not attendance before it is held.
    _attendee(C_FUT, "a1", "ann@example.com", 60, "2025-03-05T10:00:00Z"),
]

# ---------------------------------------------------------------- legacy: Calendly + Zoom
Z_PY = "81111111111"  # recurring "Info-Webinar Python for Beginners [DE]" (two instances)
Z_TEST = "82222222222"  # "Zoom test session": unmapped
Z_UX = "83333333333"  # one-time, 8 minutes after Z_TEST's instance: the ambiguous pair
I_PY1, I_PY2, I_TEST, I_UX = (
    "InstPy1AAAAAAAAAAAAAA==",
    "InstPy2AAAAAAAAAAAAAA==",
    "InstTestAAAAAAAAAAAAA==",
    "InstUxAAAAAAAAAAAAAAA==",
)

ZOOM_WEBINARS = [
    _zoom_webinar(Z_PY, "Info-Webinar Python for Beginners [DE]", "2025-03-05T17:00:00Z"),
    _zoom_webinar(Z_TEST, "Zoom test session", "2025-03-07T10:00:00Z"),
    _zoom_webinar(Z_UX, "Info-Webinar UX Design [EN]", "2025-03-07T10:08:00Z"),
]
ZOOM_INSTANCES = [
    _instance(Z_PY, I_PY1, "2025-03-05T17:00:00Z"),
    _instance(Z_PY, I_PY2, "2025-03-06T17:00:00Z"),
    _instance(Z_TEST, I_TEST, "2025-03-07T10:00:00Z"),
    _instance(Z_UX, I_UX, "2025-03-07T10:08:00Z"),
]
EV_URL, EV_TIME, EV_AMB, EV_NONE = (
    "11111111-0000-4000-8000-000000000001",
    "11111111-0000-4000-8000-000000000002",
    "11111111-0000-4000-8000-000000000003",
    "11111111-0000-4000-8000-000000000004",
)
CALENDLY_EVENTS = [
    # join_url: the series number + the nearest instance (the 6 March one is a day away).
    _event(EV_URL, "2025-03-05T17:00:00.000000Z", f"https://us02web.zoom.us/j/{Z_PY}?pwd=abc"),
    # No join_url: the single occurrence within 15 minutes (I_PY2, 5 minutes off).
    _event(EV_TIME, "2025-03-06T17:05:00.000000Z", None),
    # No join_url and two occurrences within 15 minutes: ambiguous, not joined.
    _event(EV_AMB, "2025-03-07T10:03:00.000000Z", None),
    # A join_url whose webinar has no occurrence near the start: unmatched.
    _event(EV_NONE, "2025-03-08T09:00:00.000000Z", "https://zoom.us/j/89999999999"),
]
CALENDLY_INVITEES = [
    _invitee("inv-eve", EV_URL, "Eve+Promo@example.com", "active", "2025-03-01T09:00:00.000000Z"),
    # Rescheduled booking: canceled old invitee + active new one -> one registration.
    _invitee("inv-frank-old", EV_URL, "frank@example.com", "canceled", "2025-03-01T09:00:00.000000Z"),
    _invitee("inv-frank-new", EV_URL, "frank@example.com", "active", "2025-03-02T09:00:00.000000Z"),
    # Canceled and never rebooked: no registration.
    _invitee("inv-gina", EV_URL, "gina@example.com", "canceled", "2025-03-01T09:00:00.000000Z"),
    _invitee("inv-hank", EV_TIME, "hank@example.com", "active", "2025-03-01T09:00:00.000000Z"),
    # An unseen status is no cancellation: kim counts as registered (and did not come).
    _invitee("inv-kim", EV_TIME, "kim@example.com", "awaiting_payment", "2025-03-01T09:00:00.000000Z"),
    _invitee("inv-ivy", EV_AMB, "ivy@example.com", "active", "2025-03-01T09:00:00.000000Z"),
    _invitee("inv-jo", EV_NONE, "jo@example.com", "active", "2025-03-01T09:00:00.000000Z"),
]
ZOOM_PARTICIPANTS = [
    # Eve registered as eve+promo@ and joins twice as eve@: plus-part removed, seconds summed.
    _participant(I_PY1, "p-eve", "eve@example.com", "2025-03-05T17:00:00Z", 600),
    _participant(I_PY1, "p-eve", "EVE@example.com", "2025-03-05T17:30:00Z", 300),
    _participant(I_PY1, "p-frank", "frank@example.com", "2025-03-05T17:00:00Z", 1200),
    _participant(I_PY1, "p-zed", "zed@example.com", "2025-03-05T17:01:00Z", 100),  # walk-in
    # An unseen participant status changes nothing.
    _with(
        _participant(I_PY2, "p-hank", "hank@example.com", "2025-03-06T17:00:00Z", 1800),
        status="in_breakout_room",
    ),
    # Ivy's event is ambiguous, so for I_TEST she is a walk-in.
    _participant(I_TEST, "p-ivy", "ivy@example.com", "2025-03-07T10:00:00Z", 600),
]

LOADS: list[tuple[int, dict[str, list[Row]]]] = [
    # First load: an old conference title and some rows that the second load repeats.
    (
        2,
        {
            "bigmarker_conferences": BM_CONFERENCES_OLD,
            "bigmarker_registrations": BM_REGISTRATIONS[:2],
            "bigmarker_attendees": BM_ATTENDEES[:3],
            "zoom_participants": ZOOM_PARTICIPANTS[:2],
            "calendly_invitees": [
                _invitee("inv-gina", EV_URL, "gina@example.com", "active", "2025-03-01T09:00:00.000000Z")
            ],
        },
    ),
    # Second load: everything (re-extraction overlaps; staging keeps the latest version per key).
    (
        1,
        {
            "bigmarker_conferences": BM_CONFERENCES,
            "bigmarker_registrations": BM_REGISTRATIONS,
            "bigmarker_attendees": BM_ATTENDEES,
            "calendly_scheduled_events": CALENDLY_EVENTS,
            "calendly_invitees": CALENDLY_INVITEES,
            "zoom_webinars": ZOOM_WEBINARS,
            "zoom_webinar_instances": ZOOM_INSTANCES,
            "zoom_participants": ZOOM_PARTICIPANTS,
        },
    ),
]
