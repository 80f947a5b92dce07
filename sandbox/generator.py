"""A deterministic, lazily generated universe of webinars behind the fake vendor APIs.

The universe is a pure function of ``(seed, scale, anchor)``; ``anchor`` is the end of the history
(the initial ``as_of``, default 2026-11-24T05:00Z). Nothing depends on wall time.

BigMarker (the current platform)
    ``scale`` 1 ≈ one year with ~1,000 conferences, ~300,000 registrations and ~150,000 attendee rows.
    History spans ``max(scale, 0.5)`` years ending at ``anchor`` at a density of ``1000*scale/span``
    conferences per year, plus ~60 days of scheduled (future) conferences at the same density. So scale
    0.1 → ~100 past conferences over half a year (the demo default); scale 10 → ten years.
    Courses x languages with title conventions the business seed maps by pattern (see
    :func:`catalog_rows`), some untagged titles (language from the conference's ``language`` field),
    a few odd titles mapped by exact id (fixed ids ``spcl0…``, identical in every universe) and a few
    unmappable ones. Recurring series (``recurring_parent`` + ``recurring_child`` with
    ``master_webinar_id``), a conference with no registrants, late registrations (after start), no-shows,
    rejoins (two attendee rows) and walk-ins (attendees who never registered).

    The conference list is planned eagerly (it is small); registrations and attendees are generated on
    demand per conference from ``random.Random(f"{seed}:{conference_id}")`` and cached in a small LRU,
    so scale 10 never holds millions of records in memory.

Legacy (Calendly registration + Zoom webinars and attendance)
    ~15 % of the BigMarker count (min 10) Zoom webinar occurrences in the months before BigMarker
    starts, the last 30 days overlapping BigMarker's first month. Some Zoom webinars are recurring
    (several instances, each with its own uuid; a few uuids start with ``/`` or contain ``//``). Each
    occurrence has one Calendly event whose ``location.join_url`` carries the Zoom number — except a
    few events without ``join_url`` (match by start time within 15 minutes) and exactly one ambiguous
    event (no ``join_url``, two Zoom occurrences within 15 minutes, neither with an event of its own).
    Invitees: active, canceled, rescheduled (old canceled with ``rescheduled: true`` + new active on the
    same or another event), plus-addressed e-mails in Calendly that appear without the plus-part in Zoom.
    Participants: rejoins (several rows), walk-ins, canceled invitees who came anyway.

The clock (applied by the server and the truth, not here)
    Conferences / events / webinars are visible once created; registrations / invitees / registrants
    once created (a cancellation once ``canceled_at <= as_of``); attendees / participants / instances
    once the webinar ended.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import math
import random
import time
import uuid as uuidlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import Lock
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sandbox import audience
from sandbox.config import DEFAULT_AS_OF
from sandbox.faults import bad_date_ids

DAY = 86_400
YEAR = 365.25 * DAY
MATCH_TOLERANCE_S = 15 * 60

#: Rails time-zone names BigMarker uses → IANA names.
RAILS_ZONES: dict[str, str] = {
    "Eastern Time (US & Canada)": "America/New_York",
    "Central Time (US & Canada)": "America/Chicago",
    "London": "Europe/London",
    "Berlin": "Europe/Berlin",
    "Madrid": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Mexico City": "America/Mexico_City",
    "UTC": "Etc/UTC",
}
COURSES = ("Data Analytics", "UX Design", "Product Management", "Python for Beginners", "Digital Marketing")
LANGUAGES = ("en", "es", "de", "fr")
LANGUAGE_WEIGHTS = (0.55, 0.2, 0.17, 0.08)
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French"}
LANGUAGE_ZONES = {
    "en": ("Eastern Time (US & Canada)", "London", "UTC", "Central Time (US & Canada)"),
    "es": ("Madrid", "Mexico City"),
    "de": ("Berlin",),
    "fr": ("Paris",),
}


@dataclass(frozen=True)
class PaceProfile:
    """When people register for a webinar, relative to its start (BigMarker registrations).

    A registration falls on the day of the webinar (the last 24 hours) with ``p_day``, in the
    six days before with ``p_week``, else earlier: ``7 + Exp(mean_early_days)`` days before (at
    most 60). 2 % register after the start (for the replay, or late during the session).
    """

    p_day: float
    p_week: float
    mean_early_days: float


# Courses fill at their own pace: a forecast has to learn each course's curve.
PACE_PROFILES: dict[str, PaceProfile] = {
    "Data Analytics": PaceProfile(0.22, 0.48, 9.0),
    "UX Design": PaceProfile(0.30, 0.45, 6.0),
    "Product Management": PaceProfile(0.15, 0.40, 14.0),
    "Python for Beginners": PaceProfile(0.35, 0.42, 5.0),
    "Digital Marketing": PaceProfile(0.20, 0.35, 18.0),
}
DEFAULT_PACE = PaceProfile(0.25, 0.45, 10.0)
LATE_REGISTRATION_SHARE = 0.02


def registration_ts(rand: Any, start: int, end: int, pace: PaceProfile) -> int:
    """One registration time (epoch seconds) for a webinar ``[start, end)`` under ``pace``."""
    u = rand()
    if u < LATE_REGISTRATION_SHARE:  # after the start: legal (during the session, or for the replay)
        return start + 60 + int(rand() * (end - start + 2 * DAY))
    v = rand()
    if v < pace.p_day:
        return start - 300 - int(rand() * (DAY - 300))
    if v < pace.p_day + pace.p_week:
        return start - DAY - int(rand() * 6 * DAY)
    early_days = min(60.0, 7.0 + -math.log(1.0 - rand()) * pace.mean_early_days)
    return start - int(early_days * DAY)


SESSIONS = ("Intro session", "Info webinar", "Live Q&A", "Career talk", "Open house")
BM_UNMAPPED_TITLES = (
    "Company all-hands",
    "Test webinar — please ignore",
    "Partner showcase",
    "Alumni meetup",
)
LEGACY_UNMAPPED_TITLES = ("Zoom test session", "Team sync (internal)")
#: Conferences present in every universe, mapped by exact id: (id, title, course, seed language, language).
BM_SPECIALS = (
    ("spcl0da01", "Ask the mentors — spring special", "Data Analytics", "en", "en"),
    ("spcl0ux02", "Portfolio review night", "UX Design", "es", "es"),
    # The title matches the Data Analytics pattern; the exact-id row must win. No seed language →
    # the conference's own language field ("de") applies.
    ("spcl0pm03", "Data Analytics for Product Managers (EN)", "Product Management", "", "de"),
)
#: The legacy occurrence mapped by exact instance uuid: (uuid, topic, course, language).
LEGACY_SPECIAL = ("SbxLegacySpecial000001A==", "Ask us anything — legacy special", "UX Design", "es")
FIRST_NAMES = (
    "Ann",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luis",
    "Mia",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Marta",
    "Lena",
    "Tom",
    "Sofia",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Jensen",
    "Novak",
    "Silva",
    "Brown",
    "Lopez",
    "Schmidt",
    "Weber",
    "Martin",
    "Bernard",
    "Fischer",
    "Moreau",
    "Santos",
    "Costa",
    "Klein",
    "Wagner",
    "Perez",
    "Sanchez",
    "Ivanova",
    "Nakamura",
    "Okafor",
    "Haddad",
    "Larsen",
    "Meyer",
    "Keller",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "inbox.example")
COUNTRIES = ("US", "ES", "DE", "GB", "FR", "MX", "NL", "IT")
DEVICES = ("desktop", "mobile", "tablet")


def iso_z(ts: float) -> str:
    """UTC timestamp → ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _ts(iso: str) -> int:
    """``YYYY-MM-DDTHH:MM:SSZ`` → UTC timestamp (the inverse of :func:`iso_z`)."""
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def iso_micro_z(ts: float) -> str:
    """UTC timestamp → Calendly's ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(ts))


def iso_local(ts: float, rails_zone: str) -> str:
    """UTC timestamp → ISO-8601 with the UTC offset of a Rails zone (BigMarker's conference times)."""
    return datetime.fromtimestamp(ts, ZoneInfo(RAILS_ZONES[rails_zone])).isoformat()


def _digest(*parts: object, size: int = 16) -> bytes:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=size).digest()


def det_uuid(*parts: object) -> str:
    """A deterministic RFC-4122 (v4-shaped) UUID string."""
    return str(uuidlib.UUID(bytes=_digest(*parts), version=4))


def zoom_uuid(*parts: object) -> str:
    """A deterministic Zoom-style instance uuid (24 chars, base64 without ``+``/``/``)."""
    return base64.b64encode(_digest(*parts), altchars=b"xK").decode()


def strip_plus(email: str) -> str:
    """``lower(trim(email))`` with the plus-part of the local part removed (legacy matching rule)."""
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    return local.split("+", 1)[0] + at + domain


# --------------------------------------------------------------------------------------------------
# Planned objects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """Someone from the universe's people pool."""

    index: int
    first_name: str
    last_name: str
    email: str
    bmid: str
    country: str


@dataclass(frozen=True, slots=True)
class Conference:
    """A planned BigMarker conference (children are generated lazily)."""

    index: int
    id: str
    title: str
    type: str
    language: str
    rails_zone: str
    start_ts: int
    duration_min: int
    created_ts: int
    channel_id: str
    master_webinar_id: str | None
    n_regs: int
    show_rate: float
    walk_in_rate: float
    intended_course: str
    intended_language: str

    @property
    def end_ts(self) -> int:
        return self.start_ts + self.duration_min * 60


@dataclass(slots=True)
class BigMarkerChildren:
    """Registrations (with their creation times) and attendee rows of one conference, the
    intended channel of each registration, and the on-demand viewers of its recording (with the
    time each view started: the API serves a view once the clock has passed it)."""

    registrations: list[dict[str, Any]]
    registered_ts: list[int]
    attendees: list[dict[str, Any]]
    channels: list[str] = field(default_factory=list)
    on_demand: list[dict[str, Any]] = field(default_factory=list)
    on_demand_ts: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ZoomWebinar:
    """A Zoom webinar: one-time (type 5) or recurring (type 9) with several occurrences."""

    id: int
    topic: str
    type: int
    timezone: str
    created_ts: int
    duration_min: int
    occurrences: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ZoomOccurrence:
    """One held (or scheduled) occurrence = one Zoom instance = one legacy webinar."""

    index: int
    webinar_id: int
    uuid: str
    sched_ts: int
    start_ts: int
    end_ts: int
    topic: str
    intended_course: str
    intended_language: str
    event_index: int | None = None


@dataclass(slots=True)
class CalendlyEvent:
    """A Calendly scheduled event (the registration side of one Zoom occurrence)."""

    index: int
    uuid: str
    name: str
    start_ts: int
    end_ts: int
    created_ts: int
    event_type_uuid: str
    join_url: str | None
    occurrence_index: int | None
    n_invitees: int
    intended_match: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    """A booking moved from one Calendly event to another."""

    from_event: int
    to_event: int
    person: int
    booked_ts: int
    moved_ts: int
    old_uuid: str
    new_uuid: str


@dataclass(slots=True)
class Invitee:
    """A Calendly invitee (status depends on the clock: canceled once ``canceled_ts <= as_of``)."""

    uuid: str
    event_index: int
    person: int
    email: str
    first_name: str
    last_name: str
    timezone: str
    created_ts: int
    canceled_ts: int | None = None
    rescheduled: bool = False
    new_invitee: tuple[int, str] | None = None
    old_invitee: tuple[int, str] | None = None
    answers: tuple[str, str] = ("", "")


K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A tiny thread-safe LRU cache (values are computed outside the lock)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()

    def get(self, key: K, compute: Any) -> V:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = compute()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value


# --------------------------------------------------------------------------------------------------
# The universe
# --------------------------------------------------------------------------------------------------


class Universe:
    """The fixed world of conferences, events and webinars for one ``(seed, scale, anchor)``.

    Attributes:
        conferences: BigMarker conferences ordered by ``(start_ts, id)``.
        conference_by_id: Conferences by id.
        internal_ids: The internal sessions (a platform test, a dry run) among them.
        bigmarker_start_ts: Start of the BigMarker history (UTC epoch seconds).
        zoom_webinars / zoom_occurrences / calendly_events / reschedules: The legacy plan.
    """

    def __init__(self, seed: int = 42, scale: float = 0.1, anchor: datetime = DEFAULT_AS_OF) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed = seed
        self.scale = scale
        self.anchor = anchor.astimezone(UTC)
        self.anchor_ts = int(self.anchor.timestamp())
        self.span_years = max(scale, 0.5)
        self.n_people = max(20_000, int(100_000 * scale))
        self.bigmarker_start_ts = int(self.anchor_ts - self.span_years * YEAR)
        self._bmid_offset = (seed * 7919) & 0xFFFFFFFF
        self._people: dict[int, Person] = {}
        self.conferences = self._plan_conferences()
        self.internal_ids = self._add_internal_conferences()
        self.conference_by_id = {c.id: c for c in self.conferences}
        self._plan_legacy()
        # Small universes (the demo and test default) keep every conference's children; big ones a window.
        self._bm_cache: LRU[str, BigMarkerChildren] = LRU(
            len(self.conferences) if len(self.conferences) <= 300 else 64
        )
        self._invitee_cache: LRU[int, list[Invitee]] = LRU(256)
        self._participant_cache: LRU[int, list[dict[str, Any]]] = LRU(256)

    # ---------------------------------------------------------------- people
    def person(self, p: int) -> Person:
        """The person with pool index ``p`` (ids and e-mails are collision-free by construction)."""
        cached = self._people.get(p)
        if cached is not None:
            return cached
        if len(self._people) >= 200_000:  # bounded: scale 10 must not hold every person
            self._people.clear()
        first = FIRST_NAMES[p % len(FIRST_NAMES)]
        last = LAST_NAMES[(p // len(FIRST_NAMES)) % len(LAST_NAMES)]
        email = f"{first}.{last}.{p}@{DOMAINS[p % len(DOMAINS)]}".lower()
        # An odd multiplier mod 2**32 is a bijection: distinct people get distinct bmids.
        bmid = format((p * 2654435761 + self._bmid_offset) & 0xFFFFFFFF, "08x")
        person = self._people[p] = Person(p, first, last, email, bmid, COUNTRIES[(p * 7) % len(COUNTRIES)])
        return person

    # ---------------------------------------------------------------- BigMarker plan
    def _conference_id(self, i: int, taken: set[str]) -> str:
        n = int.from_bytes(_digest(self.seed, "conference", i, size=8), "big")
        while True:
            chars = []
            m = n
            for _ in range(9):
                m, r = divmod(m, 36)
                chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
            cid = "".join(chars)
            if cid not in taken and not cid.startswith("spcl"):
                taken.add(cid)
                return cid
            n += 1

    def _local_slot(self, rng: random.Random, day_ts: int, rails_zone: str) -> int:
        """A start time at a plausible local hour on the UTC day starting at ``day_ts``."""
        tz = ZoneInfo(RAILS_ZONES[rails_zone])
        day = datetime.fromtimestamp(day_ts, UTC).date()
        hour = rng.choice((9, 10, 11, 13, 14, 16, 17, 18, 19))
        minute = rng.choice((0, 0, 0, 30))
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        return int(local.timestamp())

    def _plan_conferences(self) -> list[Conference]:
        rng = random.Random(f"{self.seed}:bigmarker:plan")
        n_past = max(1, round(1000 * self.scale))
        density = n_past / self.span_years
        n_future = max(1, round(density * 60 / 365.25))
        n_unmapped = max(2, round(0.03 * n_past))
        raw: list[dict[str, Any]] = []
        taken: set[str] = set()

        def new(start_ts: int, **kw: Any) -> dict[str, Any]:
            spec = {"start_ts": start_ts, **kw}
            raw.append(spec)
            return spec

        def start_in(lo: int, hi: int, zone: str) -> int:
            day = lo + int(rng.random() * (hi - lo))
            return self._local_slot(rng, day - day % DAY, zone)

        i = 0
        total = n_past + n_future
        while i < total:
            past = i < n_past
            lo, hi = (
                (self.bigmarker_start_ts, self.anchor_ts - DAY)
                if past
                else (self.anchor_ts + DAY, self.anchor_ts + 60 * DAY)
            )
            lang = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
            zone = rng.choice(LANGUAGE_ZONES[lang])
            course = rng.choice(COURSES)
            session = rng.choice(SESSIONS)
            u = rng.random()
            if u < 0.80:
                title = f"{course} — {session} ({lang.upper()})"
                if rng.random() < 0.05:
                    title = title.upper()
                title_lang = lang
                # Now and then the title's tag disagrees with the language field: the seed wins.
                if rng.random() < 0.02:
                    lang = "en" if lang != "en" else "es"
            else:
                title = f"{course}: {session}"
                title_lang = lang
            start = start_in(lo, hi, zone)
            common = {
                "language": lang,
                "zone": zone,
                "course": course,
                "title_lang": title_lang,
                "duration": rng.choice((45, 60, 60, 90)),
                "n_regs": int(rng.gammavariate(4.0, 75.0)),
            }
            if past and total - i >= 4 and rng.random() < 0.03:
                # A recurring series: parent (no registrations of its own) + 3 weekly children.
                parent = new(start, title=title, type="recurring_parent", **{**common, "n_regs": 0})
                for k in range(3):
                    new(start + k * 7 * DAY, title=title, type="recurring_child", parent=parent, **common)
                i += 4
                continue
            new(start, title=title, type=rng.choice(("live_webinar",) * 8 + ("webcast",)), **common)
            i += 1

        # Odd-but-legal cases on regular past conferences.
        regular_past = [
            s for s in raw if s["type"] in ("live_webinar", "webcast") and s["start_ts"] < self.anchor_ts
        ]
        picks = rng.sample(regular_past, min(len(regular_past), n_unmapped + 1))
        for spec in picks[:n_unmapped]:
            spec["title"] = rng.choice(BM_UNMAPPED_TITLES)
            spec["course"] = "unmapped"
            spec["title_lang"] = None
        if len(picks) > n_unmapped:
            picks[n_unmapped]["n_regs"] = 0  # a held conference nobody registered for
        for cid, title, course, seed_lang, lang in BM_SPECIALS:
            zone = LANGUAGE_ZONES[lang][0]
            spec = new(
                start_in(self.bigmarker_start_ts, self.anchor_ts - DAY, zone),
                title=title,
                type="live_webinar",
                language=lang,
                zone=zone,
                course=course,
                title_lang=seed_lang or None,
                duration=60,
                n_regs=int(rng.gammavariate(4.0, 75.0)),
            )
            spec["id"] = cid
            taken.add(cid)

        # Always one webinar in the coming week (the morning digest and the forecast have one to
        # show at every scale); its own random stream leaves every other conference unchanged.
        soon = random.Random(f"{self.seed}:bigmarker:next-week")
        soon_lang = "en"
        soon_zone = LANGUAGE_ZONES[soon_lang][0]
        soon_course = soon.choice(COURSES)
        new(
            self._local_slot(soon, self.anchor_ts + 3 * DAY - (self.anchor_ts + 3 * DAY) % DAY, soon_zone),
            title=f"{soon_course} — Open house ({soon_lang.upper()})",
            type="live_webinar",
            language=soon_lang,
            zone=soon_zone,
            course=soon_course,
            title_lang=soon_lang,
            duration=60,
            n_regs=int(soon.gammavariate(4.0, 75.0)),
        )

        raw.sort(key=lambda s: (s["start_ts"], s["title"]))
        for idx, spec in enumerate(raw):
            spec.setdefault("id", None)
            if spec["id"] is None:
                spec["id"] = self._conference_id(idx, taken)
        confs = []
        for idx, spec in enumerate(raw):
            parent = spec.get("parent")
            confs.append(
                Conference(
                    index=idx,
                    id=spec["id"],
                    title=spec["title"],
                    type=spec["type"],
                    language=spec["language"],
                    rails_zone=spec["zone"],
                    start_ts=spec["start_ts"],
                    duration_min=spec["duration"],
                    created_ts=spec["start_ts"] - int((7 + rng.random() * 38) * DAY),
                    channel_id=str(
                        10_000 + COURSES.index(spec["course"]) if spec["course"] in COURSES else 19_999
                    ),
                    master_webinar_id=parent["id"] if parent else None,
                    n_regs=spec["n_regs"],
                    show_rate=0.35 + rng.random() * 0.25,
                    walk_in_rate=0.02 + rng.random() * 0.03,
                    intended_course=spec["course"],
                    intended_language=spec["title_lang"] or spec["language"],
                )
            )
        return confs

    def _add_internal_conferences(self) -> frozenset[str]:
        """Two internal sessions a real account has too: a platform test and a course's dry
        run, with a handful of colleagues registered (their own random stream and indexes after
        every planned conference, so the rest of the universe stays as it was)."""
        rng = random.Random(f"{self.seed}:bigmarker:internal")
        taken = {c.id for c in self.conferences}
        course = rng.choice(COURSES)
        specs = (
            ("[TEST] Platform check — please do not join", "unmapped"),
            (f"{course} — Dry run (EN)", course),
        )
        added = []
        for k, (title, intended) in enumerate(specs):
            index = len(self.conferences) + k
            day = self.anchor_ts - int((20 + rng.random() * 200) * DAY)
            start = self._local_slot(rng, day - day % DAY, "London")
            added.append(
                Conference(
                    index=index,
                    id=self._conference_id(index, taken),
                    title=title,
                    type="live_webinar",
                    language="en",
                    rails_zone="London",
                    start_ts=start,
                    duration_min=30,
                    created_ts=start - 3 * DAY,
                    channel_id="19999",
                    master_webinar_id=None,
                    n_regs=4 + int(rng.random() * 8),
                    show_rate=0.8,
                    walk_in_rate=0.1,
                    intended_course=intended,
                    intended_language="en",
                )
            )
        self.conferences = sorted([*self.conferences, *added], key=lambda c: (c.start_ts, c.title))
        return frozenset(c.id for c in added)

    # ---------------------------------------------------------------- BigMarker children
    def bigmarker_children(self, conf: Conference) -> BigMarkerChildren:
        """Registrations and attendee rows of ``conf`` (generated on demand, cached)."""
        return self._bm_cache.get(conf.id, lambda: self._gen_bigmarker_children(conf))

    def _gen_bigmarker_children(self, conf: Conference) -> BigMarkerChildren:
        rng = random.Random(f"{self.seed}:{conf.id}")
        rand = rng.random
        start, end, created = conf.start_ts, conf.end_ts, conf.created_ts
        n_regs = conf.n_regs
        n_walk = int(n_regs * conf.show_rate * conf.walk_in_rate + rand()) if n_regs else int(rand() * 2)
        people = rng.sample(range(self.n_people), n_regs + n_walk)
        course = conf.intended_course if conf.intended_course in COURSES else rng.choice(COURSES)
        pace = PACE_PROFILES.get(conf.intended_course, DEFAULT_PACE)
        custom_lang = LANGUAGE_NAMES[conf.language]
        regs: list[dict[str, Any]] = []
        reg_ts: list[int] = []
        reg_people: list[tuple[Person, str, int]] = []
        for p in people[:n_regs]:
            person = self.person(p)
            ts = max(registration_ts(rand, start, end, pace), created + 60)
            email = person.email
            v = rand()
            if v < 0.04:
                email = email.title()
            elif v < 0.06:
                email = f" {email.upper()} "
            elif v < 0.08:
                email = email + " "
            regs.append(
                {
                    "email": email,
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "bmid": person.bmid,
                    "conference_id": conf.id,
                    "registered_at": iso_z(ts),
                    "time_zone": conf.rails_zone,
                    "country": person.country,
                    "source": "registration_page" if v < 0.7 else "embed_form",
                    "referral_domain": "www.google.com" if v > 0.85 else None,
                    "tracking_code": None,
                    "custom_user_id": None,
                    "custom_fields": {
                        "Which course are you interested in?": course,
                        "Preferred language": custom_lang,
                    },
                    "utm_bmcr_source": "newsletter" if v > 0.9 else None,
                }
            )
            reg_ts.append(ts)
            reg_people.append((person, email, ts))

        attendees: list[dict[str, Any]] = []
        base_id = (conf.index + 1) * 100_000
        eligible = [rp for rp in reg_people if rp[2] <= end - 600]
        n_show = min(len(eligible), round(n_regs * conf.show_rate))
        showing = rng.sample(eligible, n_show)
        walkers = [(self.person(p), None, 0) for p in people[n_regs:]]
        for person, reg_email, rts in showing + walkers:
            email = person.email if (reg_email is None or rand() < 0.9) else reg_email.strip()
            first_in = max(start - 300 + int(rand() * 1500), rts)
            sessions = 2 if rand() < 0.08 else 1
            t = first_in
            for _ in range(sessions):
                if t >= end:
                    break
                stay = int(300 + rand() * (end - t))
                leave = min(t + stay, end + 600)
                total = leave - t
                attendees.append(
                    {
                        "id": base_id + len(attendees),
                        "bmid": person.bmid,
                        "email": email,
                        "first_name": person.first_name,
                        "last_name": person.last_name,
                        "entered_at": iso_z(t),
                        "leaved_at": iso_z(leave),
                        "total_duration": total,
                        "engaged_duration": int(total * (0.5 + rand() * 0.5)),
                        "chats_count": int(rand() * 4),
                        "qas_count": int(rand() * 2),
                        "polls_count": int(rand() * 3),
                        "country": person.country,
                        "device_name": DEVICES[int(rand() * 3)],
                        "attendance_type": "live",
                    }
                )
                t = leave + 60 + int(rand() * 600)
        children = BigMarkerChildren(regs, reg_ts, attendees)
        self._bigmarker_audience(conf, children, reg_people, {p.index for p, _, _ in showing})
        return children

    def _bigmarker_audience(
        self,
        conf: Conference,
        children: BigMarkerChildren,
        reg_people: list[tuple[Person, str, int]],
        came: set[int],
    ) -> None:
        """Channels, second-device sessions and recording views (``sandbox.audience``; their own
        random streams, so the rows generated above stay exactly as they were)."""
        for reg, (person, _, _) in zip(children.registrations, reg_people, strict=True):
            attended = person.index in came
            channel, fields = audience.bigmarker_channel(self.seed, conf.id, person.bmid, attended)
            reg.update({"referral_domain": None, "tracking_code": None, "utm_bmcr_source": None, **fields})
            children.channels.append(channel)
        atts = children.attendees
        firsts, seen = [], set()
        for a in atts:
            if a["bmid"] not in seen:
                seen.add(a["bmid"])
                firsts.append(a)
        base_id = (conf.index + 1) * 100_000
        for i, join, leave in audience.second_device_rows(
            self.seed, conf.id, firsts, start="entered_at", leave="leaved_at", end_ts=conf.end_ts
        ):
            atts.append(
                {
                    **firsts[i],
                    "id": base_id + len(atts),
                    "entered_at": iso_z(join),
                    "leaved_at": iso_z(leave),
                    "total_duration": leave - join,
                    "engaged_duration": 0,
                    "chats_count": 0,
                    "qas_count": 0,
                    "polls_count": 0,
                    "device_name": "mobile",
                }
            )
        # Views start after the end; the API serves each once the clock has passed it.
        regs_by_email = {
            strip_plus(p.email): (p, r, ts)
            for (p, _, ts), r in zip(reg_people, children.registrations, strict=True)
        }
        views = audience.replay_views(
            self.seed,
            conf.id,
            conf.end_ts,
            conf.duration_min,
            [(p.bmid, strip_plus(p.email), p.index in came) for p, _, _ in reg_people],
        )
        for k, view in enumerate(sorted(views, key=lambda v: (v.view_ts, v.person_email))):
            person, reg, reg_ts = regs_by_email[view.person_email]
            children.on_demand.append(
                {
                    "id": str(base_id + 90_000 + k),
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "email": person.email,
                    "BMID": person.bmid,
                    "registration_date": iso_z(reg_ts),
                    "country": person.country,
                    "time_zone": conf.rails_zone,
                    "traffic_source": reg["source"],
                    "referral_domain": reg["referral_domain"],
                    "tracking_code": reg["tracking_code"],
                    "attended?": "Yes" if view.attended_live else "No",
                    "watched_on_demand": "Yes",
                    "on_demand_duration": str(view.seconds),
                    "recording_duration": str(conf.duration_min * 60),
                    "enter_time": iso_z(view.view_ts),
                    "exit_time": iso_z(view.view_ts + view.seconds),
                    "downloaded": 0,
                }
            )
            children.on_demand_ts.append(view.view_ts)

    # ---------------------------------------------------------------- legacy plan
    def _plan_legacy(self) -> None:
        rng = random.Random(f"{self.seed}:legacy:plan")
        # the planned history only: the internal sessions added later leave the legacy plan as it was
        n_past = sum(1 for c in self.conferences if c.start_ts < self.anchor_ts
                     and c.id not in self.internal_ids)
        n = max(10, round(0.15 * n_past))
        days_before = max(120, math.ceil(n / 3))
        day0 = self.bigmarker_start_ts - self.bigmarker_start_ts % DAY - days_before * DAY
        n_days = days_before + 30  # the last 30 days overlap BigMarker's first month
        hours = tuple(range(8, 20))
        n_slots = n_days * len(hours)
        taken: set[int] = set()

        def slot_ts(s: int) -> int:
            return day0 + (s // len(hours)) * DAY + hours[s % len(hours)] * 3600

        def free_slot(lo: int = 0) -> int:
            while True:
                s = rng.randrange(lo, n_slots)
                if s not in taken:
                    taken.add(s)
                    return s

        ids = [80_000_000_000 + x for x in rng.sample(range(10**10), n + 2)]
        self.zoom_webinars: list[ZoomWebinar] = []
        self.zoom_occurrences: list[ZoomOccurrence] = []
        self.calendly_events: list[CalendlyEvent] = []
        self.reschedules: list[Reschedule] = []
        specs: list[tuple[int, list[int], dict[str, Any]]] = []  # (webinar type, slot start times, topic)

        def topic_spec(kind: str) -> dict[str, Any]:
            course = rng.choice(COURSES)
            lang = rng.choices(LANGUAGES[:3], (0.6, 0.25, 0.15))[0]
            if kind == "unmapped":
                return {"topic": rng.choice(LEGACY_UNMAPPED_TITLES), "course": "unmapped", "lang": "unmapped"}
            if kind == "untagged":
                return {"topic": f"{course} info session", "course": course, "lang": "unmapped"}
            return {"topic": f"Info-Webinar {course} [{lang.upper()}]", "course": course, "lang": lang}

        # The ambiguous pair: two one-time webinars 8 minutes apart, one Calendly event without join_url.
        s = free_slot()
        amb_ts = slot_ts(s)
        specs.append((5, [amb_ts], {**topic_spec("tagged"), "role": "ambiguous"}))
        specs.append((5, [amb_ts + 8 * 60], {**topic_spec("tagged"), "role": "ambiguous_twin"}))
        # The exact-uuid special and one webinar inside the overlap month.
        specs.append(
            (
                5,
                [slot_ts(free_slot())],
                {
                    "topic": LEGACY_SPECIAL[1],
                    "course": LEGACY_SPECIAL[2],
                    "lang": LEGACY_SPECIAL[3],
                    "role": "special",
                },
            )
        )
        specs.append((5, [slot_ts(free_slot(days_before * len(hours)))], topic_spec("tagged")))
        remaining = n - 4
        n_untagged, n_unmapped = 1, 1
        while remaining > 0:
            if remaining >= 3 and rng.random() < 0.2:
                k = min(remaining, rng.choice((3, 4)))
                week = 7 * len(hours)
                while True:
                    base = rng.randrange(0, n_slots - (k - 1) * week)
                    chain = [base + j * week for j in range(k)]
                    if not taken.intersection(chain):
                        taken.update(chain)
                        break
                specs.append((9, [slot_ts(x) for x in chain], topic_spec("tagged")))
                remaining -= k
                continue
            kind = "tagged"
            if n_untagged:
                kind, n_untagged = "untagged", 0
            elif n_unmapped:
                kind, n_unmapped = "unmapped", 0
            specs.append((5, [slot_ts(free_slot())], topic_spec(kind)))
            remaining -= 1

        specs.sort(key=lambda sp: sp[1][0])
        occ_roles: dict[int, str] = {}
        for w_i, (wtype, starts, spec) in enumerate(specs):
            zone = {"en": "America/New_York", "es": "Europe/Madrid", "de": "Europe/Berlin"}.get(
                spec["lang"], "Europe/Berlin"
            )
            duration = rng.choice((45, 60, 60, 90))
            web = ZoomWebinar(
                id=ids[w_i],
                topic=spec["topic"],
                type=wtype,
                timezone=zone,
                created_ts=starts[0] - int((30 + rng.random() * 20) * DAY),
                duration_min=duration,
            )
            for st in starts:
                o_i = len(self.zoom_occurrences)
                actual = st + int(rng.random() * 300)
                uuid = (
                    LEGACY_SPECIAL[0] if spec.get("role") == "special" else zoom_uuid(self.seed, "inst", o_i)
                )
                self.zoom_occurrences.append(
                    ZoomOccurrence(
                        index=o_i,
                        webinar_id=web.id,
                        uuid=uuid,
                        sched_ts=st,
                        start_ts=actual,
                        end_ts=actual + duration * 60 + int(rng.random() * 600),
                        topic=spec["topic"],
                        intended_course=spec["course"],
                        intended_language=spec["lang"],
                    )
                )
                web.occurrences.append(o_i)
                if spec.get("role"):
                    occ_roles[o_i] = spec["role"]
            self.zoom_webinars.append(web)
        self.zoom_webinar_by_id = {w.id: w for w in self.zoom_webinars}

        # Awkward uuids: at least one starting with '/', one containing '//'.
        plain = [o for o in self.zoom_occurrences if o.index not in occ_roles]
        n_odd = max(1, round(0.03 * len(plain)))
        for j, occ in enumerate(rng.sample(plain, min(len(plain), 2 * n_odd))):
            occ.uuid = "/" + occ.uuid[1:] if j % 2 == 0 else occ.uuid[:9] + "//" + occ.uuid[11:]
        self.occurrence_by_uuid = {o.uuid: o for o in self.zoom_occurrences}

        # Calendly events: one per occurrence except the ambiguous twin.
        candidates = [o.index for o in plain if self.zoom_webinar_by_id[o.webinar_id].type == 5]
        n_time = max(2, round(0.05 * len(self.zoom_occurrences)))
        time_only = set(rng.sample(candidates, min(len(candidates), n_time)))
        event_types = {
            (c, lang): det_uuid(self.seed, "event_type", c, lang)
            for c in (*COURSES, "unmapped")
            for lang in (*LANGUAGES, "unmapped")
        }
        for occ in self.zoom_occurrences:
            role = occ_roles.get(occ.index)
            if role == "ambiguous_twin":
                continue
            e_i = len(self.calendly_events)
            if role == "ambiguous":
                join_url, intended = None, "ambiguous"
            elif occ.index in time_only:
                join_url, intended = None, "time"
            else:
                join_url, intended = f"https://zoom.us/j/{occ.webinar_id}", "join_url"
            web = self.zoom_webinar_by_id[occ.webinar_id]
            self.calendly_events.append(
                CalendlyEvent(
                    index=e_i,
                    uuid=det_uuid(self.seed, "calendly_event", e_i),
                    name=occ.topic,
                    start_ts=occ.sched_ts,
                    end_ts=occ.sched_ts + web.duration_min * 60,
                    created_ts=min(web.created_ts + int(rng.random() * DAY), occ.sched_ts - 10 * DAY),
                    event_type_uuid=event_types[(occ.intended_course, occ.intended_language)],
                    join_url=join_url,
                    occurrence_index=occ.index,
                    n_invitees=int(rng.gammavariate(4.0, 20.0)),
                    intended_match=intended,
                )
            )
            occ.event_index = e_i
        self.calendly_event_by_uuid = {e.uuid: e for e in self.calendly_events}

        # Bookings moved to a later event.
        by_start = sorted(self.calendly_events, key=lambda e: e.start_ts)
        n_moves = max(1, round(0.02 * len(by_start)))
        for r, ev in enumerate(rng.sample(by_start[:-1], min(n_moves, len(by_start) - 1))):
            later = [
                e for e in by_start if e.start_ts > ev.start_ts and e.created_ts < ev.start_ts - 2 * 3600
            ]
            if not later:
                continue
            target = later[0]
            lo = max(ev.created_ts, target.created_ts) + 3600
            hi = ev.start_ts - 3600
            if hi <= lo:
                continue
            booked = lo + int(rng.random() * (hi - lo) / 2)
            moved = booked + int(rng.random() * (hi - booked))
            self.reschedules.append(
                Reschedule(
                    ev.index,
                    target.index,
                    rng.randrange(self.n_people),
                    booked,
                    moved,
                    det_uuid(self.seed, "resched", r, "old"),
                    det_uuid(self.seed, "resched", r, "new"),
                )
            )

    # ---------------------------------------------------------------- legacy children
    def calendly_invitees(self, event: CalendlyEvent) -> list[Invitee]:
        """All invitees ever created for ``event`` (clock not applied), cached."""
        return self._invitee_cache.get(event.index, lambda: self._gen_invitees(event))

    def _gen_invitees(self, event: CalendlyEvent) -> list[Invitee]:
        rng = random.Random(f"{self.seed}:calendly:{event.uuid}")
        rand = rng.random
        occ = self.zoom_occurrences[event.occurrence_index] if event.occurrence_index is not None else None
        tz = self.zoom_webinar_by_id[occ.webinar_id].timezone if occ else "Europe/Berlin"
        course = occ.intended_course if occ else ""
        people = rng.sample(range(self.n_people), event.n_invitees)
        out: list[Invitee] = []

        def make(invitee_uuid: str, p: int, created: int) -> Invitee:
            person = self.person(p)
            email = person.email
            v = rand()
            if v < 0.06:
                local, _, domain = email.partition("@")
                email = f"{local}+webinar@{domain}"
            elif v < 0.09:
                email = email.capitalize()
            elif v < 0.11:
                email = email + " "
            return Invitee(
                uuid=invitee_uuid,
                event_index=event.index,
                person=p,
                email=email,
                first_name=person.first_name,
                last_name=person.last_name,
                timezone=tz,
                created_ts=created,
                answers=(course, LANGUAGE_NAMES.get(occ.intended_language, "English") if occ else "English"),
            )

        span = max(3600, event.start_ts - 3600 - event.created_ts)
        for k, p in enumerate(people):
            created = event.created_ts + 600 + int((1 - rand() * rand()) * span)
            inv = make(det_uuid(self.seed, "invitee", event.index, k), p, min(created, event.start_ts - 600))
            out.append(inv)
            u = rand()
            if u < 0.08:  # canceled before the event
                inv.canceled_ts = inv.created_ts + int(rand() * (event.start_ts - inv.created_ts))
            elif u < 0.11:  # rescheduled within the same event: old canceled + new active
                moved = inv.created_ts + int(rand() * (event.start_ts - inv.created_ts))
                new = make(det_uuid(self.seed, "invitee-new", event.index, k), p, moved)
                new.email = inv.email
                new.old_invitee = (event.index, inv.uuid)
                inv.canceled_ts, inv.rescheduled, inv.new_invitee = moved, True, (event.index, new.uuid)
                out.append(new)
        for r in self.reschedules:
            if r.from_event == event.index:
                inv = make(r.old_uuid, r.person, r.booked_ts)
                inv.canceled_ts, inv.rescheduled, inv.new_invitee = r.moved_ts, True, (r.to_event, r.new_uuid)
                out.append(inv)
            elif r.to_event == event.index:
                inv = make(r.new_uuid, r.person, r.moved_ts)
                inv.old_invitee = (r.from_event, r.old_uuid)
                out.append(inv)
        out.sort(key=lambda i: (i.created_ts, i.uuid))
        return out

    def zoom_participants(self, occ: ZoomOccurrence) -> list[dict[str, Any]]:
        """Participant rows of one occurrence (the report; clock not applied), cached."""
        return self._participant_cache.get(occ.index, lambda: self._gen_participants(occ))

    def _gen_participants(self, occ: ZoomOccurrence) -> list[dict[str, Any]]:
        rng = random.Random(f"{self.seed}:zoom:{occ.uuid}")
        rand = rng.random
        invitees = (
            self.calendly_invitees(self.calendly_events[occ.event_index])
            if occ.event_index is not None
            else []
        )
        coming: list[tuple[int, str]] = []
        seen: set[int] = set()
        for inv in invitees:
            if inv.person in seen or inv.rescheduled:
                continue
            if inv.canceled_ts is None:
                if rand() < 0.5:
                    coming.append((inv.person, strip_plus(inv.email)))
                    seen.add(inv.person)
            elif rand() < 0.1:  # canceled, came anyway: a walk-in
                coming.append((inv.person, strip_plus(inv.email)))
                seen.add(inv.person)
        registered_coming = len(coming)
        n_walk = max(1, int(len(invitees) * 0.05 + rand())) if invitees else 5 + int(rand() * 20)
        for p in rng.sample(range(self.n_people), n_walk):
            if p not in seen:
                coming.append((p, self.person(p).email))
        rows: list[dict[str, Any]] = []
        first_row_of: list[int] = []  # index of each coming person's first row
        for p, email in coming:
            first_row_of.append(len(rows))
            person = self.person(p)
            pid = zoom_uuid(self.seed, "zoom-user", p)[:22]
            shown = email.upper() if rand() < 0.05 else email
            t = occ.start_ts - 120 + int(rand() * 900)
            for _ in range(1 + (rand() < 0.15) + (rand() < 0.05)):
                if t >= occ.end_ts:
                    break
                leave = min(occ.end_ts, t + 120 + int(rand() * (occ.end_ts - t)))
                rows.append(
                    {
                        "id": pid,
                        "user_id": str(16_778_240 + len(rows)),
                        "name": f"{person.first_name} {person.last_name}",
                        "user_email": shown,
                        "join_time": iso_z(t),
                        "leave_time": iso_z(leave),
                        "duration": leave - t,
                        "attentiveness_score": "",
                        "failover": False,
                        "status": "in_meeting",
                        "customer_key": "",
                    }
                )
                t = leave + 30 + int(rand() * 300)
        self._guests_without_id(occ, rows, first_row_of[: min(registered_coming, len(first_row_of))])
        self._zoom_audience(occ, rows, first_row_of)
        rows.sort(key=lambda r: (r["join_time"], r["id"], r["user_email"]))
        return rows

    def _zoom_audience(self, occ: ZoomOccurrence, rows: list[dict[str, Any]], firsts: list[int]) -> None:
        """Second-device sessions and, on every third webinar series (an account with the
        feature), attentiveness scores (``sandbox.audience``; their own random streams)."""
        scored = occ.webinar_id % 3 == 0
        first_rows = [rows[i] for i in firsts]
        for i, join, leave in audience.second_device_rows(
            self.seed, occ.uuid, first_rows, start="join_time", leave="leave_time", end_ts=occ.end_ts
        ):
            rows.append(
                {
                    **first_rows[i],
                    "user_id": str(16_778_240 + len(rows)),
                    "join_time": iso_z(join),
                    "leave_time": iso_z(min(leave, occ.end_ts)),
                    "duration": min(leave, occ.end_ts) - join,
                }
            )
        for k, row in enumerate(rows):
            row["attentiveness_score"] = audience.attentiveness(self.seed, occ.uuid, str(k), scored=scored)

    def _guests_without_id(self, occ: ZoomOccurrence, rows: list[dict[str, Any]], firsts: list[int]) -> None:
        """In about a third of the occurrences, two registered people join as guests who are not
        signed in: Zoom leaves their participant ``id`` (and here ``user_id``) blank, and both
        join in the same second. Only their e-mail tells them apart; both count as attended.

        A separate random stream: every other value of the universe stays as it was.
        """
        rng = random.Random(f"{self.seed}:zoom-guests:{occ.uuid}")
        if rng.random() >= 1 / 3 or len(firsts) < 2:
            return
        first, second = firsts[0], firsts[1]
        guests = {rows[first]["user_email"], rows[second]["user_email"]}
        for row in rows:
            if row["user_email"] in guests:
                row["id"] = ""
                row["user_id"] = ""
        join = rows[first]["join_time"]
        leave_ts = max(_ts(rows[second]["leave_time"]), _ts(join) + 400)
        rows[second].update(join_time=join, leave_time=iso_z(leave_ts), duration=leave_ts - _ts(join))

    # ---------------------------------------------------------------- convenience
    @functools.cached_property
    def bad_date_ids(self) -> frozenset[str]:
        """Conferences the ``bad_webinar_dates`` switch serves in year 2099 (three held ones)."""
        held = [c.id for c in self.conferences if c.end_ts < self.anchor_ts and c.id not in self.internal_ids]
        return bad_date_ids(self.seed, held)

    def bigmarker_counts(self) -> tuple[int, int, int]:
        """(conferences, registrations, attendee rows) of the whole universe (generates everything)."""
        regs = atts = 0
        for conf in self.conferences:
            ch = self._gen_bigmarker_children(conf)
            regs += len(ch.registrations)
            atts += len(ch.attendees)
        return len(self.conferences), regs, atts


def catalog_rows() -> list[dict[str, Any]]:
    """The business seed ``webinar_catalog_map.csv`` (independent of seed and scale).

    Columns ``platform, webinar_id, title_pattern, course, language, priority``: exact-id rows
    (priority 1, empty pattern) first, then ILIKE title patterns (``(XX)`` / ``[XX]`` language tags →
    priority 10; course only, no language → priority 50). Lowest priority number wins.
    """
    rows: list[dict[str, Any]] = []
    for cid, _title, course, seed_lang, _lang in BM_SPECIALS:
        rows.append(
            {
                "platform": "bigmarker",
                "webinar_id": cid,
                "title_pattern": "",
                "course": course,
                "language": seed_lang,
                "priority": 1,
            }
        )
    rows.append(
        {
            "platform": "legacy",
            "webinar_id": LEGACY_SPECIAL[0],
            "title_pattern": "",
            "course": LEGACY_SPECIAL[2],
            "language": LEGACY_SPECIAL[3],
            "priority": 1,
        }
    )
    for platform, left, right in (("bigmarker", "(", ")"), ("legacy", "[", "]")):
        for course in COURSES:
            for lang in LANGUAGES:
                rows.append(
                    {
                        "platform": platform,
                        "webinar_id": "",
                        "title_pattern": f"%{course}%{left}{lang.upper()}{right}%",
                        "course": course,
                        "language": lang,
                        "priority": 10,
                    }
                )
        for course in COURSES:
            rows.append(
                {
                    "platform": platform,
                    "webinar_id": "",
                    "title_pattern": f"%{course}%",
                    "course": course,
                    "language": "",
                    "priority": 50,
                }
            )
    return rows
