"""The two kinds of item a source yields to the landing layer (see docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """A vendor record that passed its contract check.

    Attributes:
        entity: Entity name, e.g. ``"registrations"``; selects the raw table.
        key: Natural key, unique per entity (see docs/design.md for each entity's rule).
        parent_key: Id of the parent object (conference, event, webinar instance) or ``None``.
        payload: The vendor's JSON object, untouched.
    """

    entity: str
    key: str
    parent_key: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that broke the contract; it is kept in ``raw.quarantine`` with the reason.

    Attributes:
        entity: Entity name the record was meant for.
        parent_key: Id of the parent object, if known.
        payload: The raw text as received (may not be valid JSON).
        reason: What was wrong, naming the field.
    """

    entity: str
    parent_key: str | None
    payload: str
    reason: str


Item = Record | Rejected
