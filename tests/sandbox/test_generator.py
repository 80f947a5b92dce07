"""The generated universe: determinism, size, and the odd-but-legal cases it must contain."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.generator import COURSES, Universe, strip_plus

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def uni() -> Universe:
    return Universe(seed=42, scale=0.1)


def test_same_seed_same_universe_other_seed_differs(uni: Universe) -> None:
    twin, other = Universe(seed=42, scale=0.1), Universe(seed=43, scale=0.1)
    assert twin.conferences == uni.conferences
    conf = uni.conferences[10]
    assert twin.bigmarker_children(conf).registrations == uni.bigmarker_children(conf).registrations
    assert [c.id for c in other.conferences] != [c.id for c in uni.conferences]
    assert [o.uuid for o in twin.zoom_occurrences] == [o.uuid for o in uni.zoom_occurrences]


def test_density_follows_scale(uni: Universe) -> None:
    past = [c for c in uni.conferences if c.start_ts < uni.anchor_ts]
    future = [c for c in uni.conferences if c.start_ts >= uni.anchor_ts]
    assert 95 <= len(past) <= 110  # 100 + the three exact-id specials
    assert 25 <= len(future) <= 40  # ~60 days at 200 conferences / year
    assert min(c.start_ts for c in past) >= uni.bigmarker_start_ts - 86_400
    assert len({c.id for c in uni.conferences}) == len(uni.conferences)
    big = Universe(seed=42, scale=1.0)
    assert 1000 <= sum(c.start_ts < big.anchor_ts for c in big.conferences) <= 1010


def test_big_scale_plans_lazily() -> None:
    uni = Universe(seed=1, scale=10.0)
    assert len(uni.conferences) > 10_000
    assert len(uni._bm_cache._data) == 0  # no child generated while planning


def test_catalogue_variety(uni: Universe) -> None:
    assert {c.intended_course for c in uni.conferences} >= set(COURSES) | {"unmapped"}
    assert len({c.language for c in uni.conferences}) >= 3
    assert {"spcl0da01", "spcl0ux02", "spcl0pm03"} <= set(uni.conference_by_id)
    assert any(" — " in c.title and c.title.endswith(")") for c in uni.conferences)
    assert any(":" in c.title for c in uni.conferences)  # untagged: language from the field


def test_recurring_series_and_empty_conference(uni: Universe) -> None:
    children = [c for c in uni.conferences if c.type == "recurring_child"]
    assert children and all(
        uni.conference_by_id[c.master_webinar_id].type == "recurring_parent" for c in children
    )
    held = [c for c in uni.conferences if c.end_ts < uni.anchor_ts and c.type != "recurring_parent"]
    assert any(not uni.bigmarker_children(c).registrations for c in held)


def test_registrations_and_attendees_have_the_odd_cases(uni: Universe) -> None:
    late = rejoins = walk_ins = messy = 0
    for conf in uni.conferences[:60]:
        ch = uni.bigmarker_children(conf)
        late += sum(ts > conf.start_ts for ts in ch.registered_ts)
        messy += sum(r["email"] != r["email"].strip().lower() for r in ch.registrations)
        registered = {r["email"].strip().lower() for r in ch.registrations}
        per_person = Counter(a["email"].strip().lower() for a in ch.attendees)
        rejoins += sum(n > 1 for n in per_person.values())
        walk_ins += sum(e not in registered for e in per_person)
        assert all(
            a["total_duration"] > 0 and a["engaged_duration"] <= a["total_duration"] for a in ch.attendees
        )
    assert late and rejoins and walk_ins and messy


def test_legacy_plan(uni: Universe) -> None:
    occs = uni.zoom_occurrences
    assert len(occs) >= 15
    assert max(o.start_ts for o in occs) > uni.bigmarker_start_ts  # the overlap month
    assert min(o.start_ts for o in occs) < uni.bigmarker_start_ts - 60 * 86_400
    assert any(len(w.occurrences) > 1 for w in uni.zoom_webinars)
    assert any(o.uuid.startswith("/") for o in occs) and any("//" in o.uuid for o in occs)
    kinds = Counter(e.intended_match for e in uni.calendly_events)
    assert kinds["ambiguous"] == 1 and kinds["time"] >= 2 and kinds["join_url"] > 5
    assert all((e.join_url is None) == (e.intended_match != "join_url") for e in uni.calendly_events)


def test_invitees_cover_cancel_reschedule_and_plus_addressing(uni: Universe) -> None:
    invitees = [i for e in uni.calendly_events for i in uni.calendly_invitees(e)]
    assert any(i.canceled_ts and not i.rescheduled for i in invitees)
    moved = [i for i in invitees if i.rescheduled]
    assert any(i.new_invitee and i.new_invitee[0] == i.event_index for i in moved)  # same event
    assert any(i.new_invitee and i.new_invitee[0] != i.event_index for i in moved)  # another event
    plus = [i for i in invitees if "+" in i.email]
    assert plus
    emails = {p["user_email"].lower() for o in uni.zoom_occurrences for p in uni.zoom_participants(o)}
    assert any(strip_plus(i.email) in emails for i in plus)
    assert not any("+" in e for e in emails)
