"""A worker failing mid-batch of a concurrent extract: the run fails cleanly, the batches before
the failing parent are landed, the cursor stands before it, and the rerun completes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.e2e.harness import make_stack
from tests.reliability.conftest import LAST_DAY
from webinar_dwh.config import patched_env
from webinar_dwh.http import ApiError

pytestmark = pytest.mark.e2e


def _state(dsn: str) -> tuple[str | None, int, int]:
    with psycopg.connect(dsn) as conn:
        cursor = conn.execute(
            "select cursor_value from meta.cursors where source = 'bigmarker' and entity = 'conferences'"
        ).fetchone()
        confs = conn.execute("select count(distinct _record_key) from raw.bigmarker_conferences").fetchone()
        atts = conn.execute("select count(distinct _record_key) from raw.bigmarker_attendees").fetchone()
    return (cursor[0] if cursor else None), int(confs[0]), int(atts[0])  # type: ignore[index]


def test_a_failing_worker_keeps_the_cursor_before_the_unfinished_parent(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webinar_dwh import pipeline
    from webinar_dwh.sources.bigmarker.client import BigMarkerClient

    env = {"DWH_BIGMARKER_CONCURRENCY": "6", "DWH_BATCH_PARENTS": "10"}
    with make_stack(fresh_db, sources=("bigmarker",), seed=42, scale=0.05, as_of=LAST_DAY) as stack:
        run = pipeline.RunInfo.manual(LAST_DAY)
        calls: list[str] = []
        real = BigMarkerClient.attendee_pages

        def attendee_pages(self: BigMarkerClient, conference_id: str) -> Any:
            calls.append(conference_id)
            if len(calls) == 25:  # a parent of the third batch
                raise ApiError("boom: worker lost the vendor", vendor="BigMarker", status=503)
            return real(self, conference_id)

        with patched_env(env):
            monkeypatch.setattr(BigMarkerClient, "attendee_pages", attendee_pages)
            with pytest.raises(ApiError, match="boom"):
                pipeline.extract_load("bigmarker", run)
            cursor, confs, _ = _state(stack.owner_dsn)
            assert confs % 10 == 0 and 0 < confs < 25  # whole batches only, none past the failure
            assert cursor is not None
            monkeypatch.setattr(BigMarkerClient, "attendee_pages", real)
            summary = pipeline.extract_load("bigmarker", run)
        _, confs_after, atts_after = _state(stack.owner_dsn)
    assert summary["rows"]["conferences"] >= confs_after - confs  # the rerun re-pulled from the cursor
    assert confs_after > 25 and atts_after > 0
