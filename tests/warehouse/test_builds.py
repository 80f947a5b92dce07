"""Build identity: publication only moves forward.

The gate validates one build of one run (the stamps dbt writes into the marts' comments), publish
checks under its locks that ``marts_build`` still holds exactly that build, never publishes a
build twice (the version the swap moved back is the one BI saw before) and never one older than
what BI reads. Every refusal leaves both schemas untouched and names the tasks to clear.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from test_publish import MARTS, build, snapshot
from wh_support import Warehouse

from webinar_dwh.warehouse import builds
from webinar_dwh.warehouse.publish import PublicationResult, publish_marts

pytestmark = pytest.mark.warehouse

NOV_24 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
NOV_25 = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def dbt_build(dsn: str, run_id: str | None, as_of: datetime, tables: tuple[str, ...] = MARTS) -> None:
    """What the DAG's dbt_build does: (re)create the marts, each stamped by its dbt invocation."""
    build(dsn, run_id or "unknown", 3, tables)
    with psycopg.connect(dsn) as conn:
        for table in tables:
            stamp = {"as_of": as_of.isoformat(), "dag_run_id": run_id, "invocation_id": str(uuid.uuid4())}
            conn.execute(
                psycopg.sql.SQL("comment on table {} is {}").format(
                    psycopg.sql.Identifier("marts_build", table), psycopg.sql.Literal(json.dumps(stamp))
                )
            )


def gate(dsn: str, run_id: str) -> None:
    """What validate_marts records once the expectations passed."""
    with psycopg.connect(dsn) as conn:
        build_ = builds.read_build(conn)
        as_of = builds.assess(conn, build_, dag_run_id=run_id)
        builds.record_validation(conn, build_, dag_run_id=run_id, as_of=as_of)


def publish(dsn: str, run_id: str) -> PublicationResult:
    """What publish_marts does: the swap, guarded by the build check."""

    def check(conn: psycopg.Connection, names: list[str]) -> tuple[datetime, dict]:
        build_ = builds.read_build(conn, tables=names)
        return builds.assert_publishable(conn, build_, dag_run_id=run_id), build_.stamps

    with psycopg.connect(dsn) as conn:
        return publish_marts(conn, dag_run_id=run_id, build_check=check)


def published(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select publication_id, dag_run_id, as_of from meta.publications order by 1"
        ).fetchall()


def state(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return [*snapshot(conn), *published(dsn)]


@pytest.fixture
def morning(warehouse: Warehouse) -> Warehouse:
    """Two mornings published in order: marts holds run-25's build, marts_build run-24's."""
    for run_id, as_of in (("run-24", NOV_24), ("run-25", NOV_25)):
        dbt_build(warehouse.owner_dsn, run_id, as_of)
        gate(warehouse.owner_dsn, run_id)
        publish(warehouse.owner_dsn, run_id)
    return warehouse


def test_a_validated_build_is_published_with_its_identity(morning: Warehouse) -> None:
    assert [(run, as_of) for _, run, as_of in published(morning.owner_dsn)] == [
        ("run-24", NOV_24),
        ("run-25", NOV_25),
    ]
    with psycopg.connect(morning.owner_dsn) as conn:
        assert builds.newest_published_as_of(conn) == NOV_25
        assert builds.effective_as_of(conn, NOV_24) == NOV_25  # a rerun of Nov 24 builds as of Nov 25
        assert builds.effective_as_of(conn, datetime(2026, 11, 26, 5, tzinfo=UTC)).day == 26


def test_clearing_the_gate_of_a_published_run_skips_and_publish_is_a_no_op(morning: Warehouse) -> None:
    # marts_build now holds run-24's build (the swap moved it back): the gate of run-25, cleared
    # and run again, finds it already published; publish alone changes nothing either
    before = state(morning.owner_dsn)
    with pytest.raises(builds.AlreadyPublished, match=r"already published .* clear dbt_build"):
        gate(morning.owner_dsn, "run-25")
    with pytest.raises(builds.AlreadyPublished) as done:
        publish(morning.owner_dsn, "run-25")
    assert done.value.publication["dag_run_id"] == "run-25"
    assert state(morning.owner_dsn) == before


def test_another_run_cannot_publish_a_build_bi_has_already_seen(morning: Warehouse) -> None:
    before = state(morning.owner_dsn)
    with pytest.raises(builds.BuildError, match=r"already published .* run-24.* clear dbt_build"):
        gate(morning.owner_dsn, "run-26")
    with pytest.raises(builds.BuildError, match="already published"):
        publish(morning.owner_dsn, "run-26")
    assert state(morning.owner_dsn) == before


def test_publish_refuses_a_build_the_gate_did_not_validate(morning: Warehouse) -> None:
    dbt_build(morning.owner_dsn, "run-26", datetime(2026, 11, 26, 5, tzinfo=UTC))
    before = state(morning.owner_dsn)
    with pytest.raises(builds.BuildError, match=r"has not validated .* clear validate_marts"):
        publish(morning.owner_dsn, "run-26")
    # validated, then rebuilt behind the gate's back (one mart): refused again
    gate(morning.owner_dsn, "run-26")
    dbt_build(morning.owner_dsn, "run-26", datetime(2026, 11, 26, 5, tzinfo=UTC), tables=("dim_webinars",))
    with pytest.raises(builds.BuildError, match="has not validated"):
        publish(morning.owner_dsn, "run-26")
    assert state(morning.owner_dsn)[-3:] == before[-3:]  # no publication recorded
    gate(morning.owner_dsn, "run-26")
    assert publish(morning.owner_dsn, "run-26").tables == sorted(MARTS)


def test_a_build_older_than_the_published_one_is_refused(morning: Warehouse) -> None:
    dbt_build(morning.owner_dsn, "run-24-rerun", NOV_24)
    before = state(morning.owner_dsn)
    with pytest.raises(builds.BuildError, match=r"older than the marts BI reads .* move BI back"):
        gate(morning.owner_dsn, "run-24-rerun")
    with pytest.raises(builds.BuildError, match="move BI back"):
        publish(morning.owner_dsn, "run-24-rerun")
    assert state(morning.owner_dsn) == before


def test_a_build_of_another_run_or_a_half_rebuilt_one_is_refused(morning: Warehouse) -> None:
    dbt_build(morning.owner_dsn, "run-26", datetime(2026, 11, 26, 5, tzinfo=UTC), tables=("dim_webinars",))
    # dim_webinars is run-26's, fct_registrations still run-24's (published before)
    with pytest.raises(builds.BuildError, match=r"does not hold one build of run run-26.*run-24"):
        gate(morning.owner_dsn, "run-26")
    dbt_build(morning.owner_dsn, "run-26", datetime(2026, 11, 26, 5, tzinfo=UTC))
    with pytest.raises(builds.BuildError, match="does not hold one build of run run-27"):
        gate(morning.owner_dsn, "run-27")


def test_relations_without_a_stamp_are_named(warehouse: Warehouse) -> None:
    build(warehouse.owner_dsn, "hand-made", 1)
    with pytest.raises(builds.BuildError, match=r"marts_build\.\{dim_webinars, fct_registrations\} carry no"):
        gate(warehouse.owner_dsn, "run-1")
