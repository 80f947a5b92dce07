"""The audience side of the sandbox's world: where registrants come from, who watched the
recording, second-device sessions and Zoom attentiveness.

Every draw here comes from its own random stream, keyed by seed and record, so adding these left
every figure the universe produced before unchanged. The generator decides the *intended*
channel of each registration and serves it as the raw signals a vendor would send;
``sandbox.truth`` counts by the intended channel, so the comparison checks the warehouse's
mapping (the business-owned seed ``channel_map.csv``) without reading it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

#: Channels a registration can come from; ``unknown``: signals the channel seed does not map.
CHANNELS: tuple[str, ...] = (
    "email",
    "paid_social",
    "organic_search",
    "organic_social",
    "partner",
    "direct",
    "unknown",
)
# A realistic skew, and people who came via e-mail or a partner show up more often than those a
# paid social ad brought.
_WEIGHTS_ATTENDED = (0.40, 0.07, 0.17, 0.05, 0.12, 0.14, 0.05)
_WEIGHTS_NO_SHOW = (0.24, 0.21, 0.17, 0.08, 0.06, 0.15, 0.09)

#: BigMarker registration fields per channel (one variant drawn per registration). The e-mail
#: variant with odd case and spaces is matched after lower(trim()).
BIGMARKER_SIGNALS: dict[str, tuple[dict[str, str], ...]] = {
    "email": (
        {"utm_bmcr_source": "newsletter"},
        {"tracking_code": "EMAIL-NURTURE"},
        {"utm_bmcr_source": " Newsletter"},
    ),
    "paid_social": ({"utm_bmcr_source": "linkedin_ads"}, {"utm_bmcr_source": "facebook_ads"}),
    "organic_search": (
        {"referral_domain": "www.google.com"},
        {"referral_domain": "www.bing.com"},
        {"referral_domain": "duckduckgo.com"},
    ),
    "organic_social": ({"referral_domain": "www.linkedin.com"}, {"referral_domain": "t.co"}),
    "partner": ({"tracking_code": "PARTNER-ACME"}, {"referral_domain": "partner.example.org"}),
    "direct": ({},),
    # values no seed row maps: they land in 'unknown' and are listed
    "unknown": (
        {"referral_domain": "news.ycombinator.com"},
        {"utm_bmcr_source": "tiktok_test"},
        {"tracking_code": "QR-BOOTH-7"},
    ),
}
#: Calendly ``tracking`` per channel.
CALENDLY_SIGNALS: dict[str, tuple[dict[str, str], ...]] = {
    "email": ({"utm_source": "newsletter", "utm_medium": "email"},),
    "paid_social": (
        {"utm_source": "linkedin", "utm_medium": "paid_social"},
        {"utm_source": "facebook", "utm_medium": "Paid_Social"},
    ),
    "organic_search": ({"utm_source": "google", "utm_medium": "organic"},),
    "organic_social": ({"utm_source": "twitter", "utm_medium": "social"},),
    "partner": ({"utm_source": "acme", "utm_medium": "partner"},),
    "direct": ({},),
    "unknown": ({"utm_source": "tiktok", "utm_medium": "influencer"},),
}

#: Share of no-shows / live attendees who watch the recording afterwards.
REPLAY_SHARE_NO_SHOW = 0.18
REPLAY_SHARE_ATTENDEE = 0.06
#: Recording views happen within this many days after the end (inside the default lookback).
REPLAY_WITHIN_DAYS = 10
#: Share of live attendees who also joined from a second device (overlapping sessions).
SECOND_DEVICE_SHARE = 0.05
_DAY = 86_400


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def bigmarker_channel(seed: int, conference_id: str, bmid: str, attended: bool) -> tuple[str, dict[str, str]]:
    """The intended channel of one BigMarker registration and the fields that carry it."""
    rng = _rng(seed, "channel", conference_id, bmid)
    channel = rng.choices(CHANNELS, _WEIGHTS_ATTENDED if attended else _WEIGHTS_NO_SHOW)[0]
    return channel, dict(rng.choice(BIGMARKER_SIGNALS[channel]))


def calendly_channel(seed: int, invitee_uuid: str) -> tuple[str, dict[str, str]]:
    """The intended channel of one Calendly invitee and its ``tracking`` utm fields."""
    rng = _rng(seed, "calendly-channel", invitee_uuid)
    channel = rng.choices(CHANNELS, _WEIGHTS_NO_SHOW)[0]
    return channel, dict(rng.choice(CALENDLY_SIGNALS[channel]))


@dataclass(frozen=True, slots=True)
class ReplayView:
    """One on-demand view of a conference's recording by a registrant."""

    person_email: str
    view_ts: int
    seconds: int
    attended_live: bool


def replay_views(
    seed: int,
    conference_id: str,
    end_ts: int,
    duration_min: int,
    registrants: list[tuple[str, str, bool]],
) -> list[ReplayView]:
    """Who of ``registrants`` (``(bmid, canonical e-mail, attended live)``) watches the recording,
    when (within :data:`REPLAY_WITHIN_DAYS` after the end) and for how long."""
    rng = _rng(seed, "replay", conference_id)
    views = []
    for _bmid, email, attended in registrants:
        share = REPLAY_SHARE_ATTENDEE if attended else REPLAY_SHARE_NO_SHOW
        if rng.random() < share:
            when = end_ts + 3600 + int(rng.random() * (REPLAY_WITHIN_DAYS * _DAY - 7200))
            seconds = 120 + int(rng.random() * max(60, duration_min * 60 - 120))
            views.append(ReplayView(email, when, seconds, attended))
    return views


def second_device_rows(
    seed: int, key: str, rows: list[dict[str, Any]], *, start: str, leave: str, end_ts: int
) -> list[tuple[int, int, int]]:
    """Overlapping second-device sessions for some of ``rows`` (first sessions of people):
    ``(row index, join ts, leave ts)`` — the join lies inside the first session, the leave may
    run past it (merged, the person's time grows by the part outside)."""
    from sandbox.generator import _ts  # the generator's ISO parser

    rng = _rng(seed, "second-device", key)
    out = []
    for i, row in enumerate(rows):
        if rng.random() >= SECOND_DEVICE_SHARE:
            continue
        joined, left = _ts(row[start]), _ts(row[leave])
        if left - joined < 180:
            continue
        join = joined + 60 + int(rng.random() * (left - joined - 120))
        stay = 60 + int(rng.random() * (left - joined))
        out.append((i, join, min(join + stay, end_ts + 600)))
    return out


def attentiveness(seed: int, occurrence_uuid: str, participant: str, *, scored: bool) -> str:
    """Zoom's ``attentiveness_score`` for one participant row: ``""`` on accounts without the
    feature (most), a whole percentage as a string where it is present."""
    if not scored:
        return ""
    return str(30 + int(_rng(seed, "attentiveness", occurrence_uuid, participant).random() * 71))
