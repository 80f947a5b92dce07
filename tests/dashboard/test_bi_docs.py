"""docs/bi_guide.md's sample SQL runs as bi_reader on a published warehouse; bi_marts.md is current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.dashboard

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "bi_guide.md").read_text()
QUERIES = re.findall(r"```sql\n(.*?)```", GUIDE, flags=re.S)


def test_the_guide_has_the_classic_charts():
    assert len(QUERIES) >= 6
    for heading in ("by month", "by course", "by language", "Top webinars", "Registrations trend"):
        assert heading in GUIDE


@pytest.mark.parametrize("query", QUERIES, ids=[q.splitlines()[0].lstrip("- ")[:40] for q in QUERIES])
def test_sample_sql_runs_as_bi_reader(published_warehouse, query: str):
    with psycopg.connect(published_warehouse.bi_dsn) as conn:
        conn.read_only = True
        rows = conn.execute(query).fetchall()
    if "current_date" not in query:  # relative windows may be empty when the data is old
        assert rows, query


def test_mart_reference_is_generated_from_the_dbt_yaml():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_bi_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("query", QUERIES, ids=[q.splitlines()[0].lstrip("- ")[:40] for q in QUERIES])
def test_sample_sql_joins_on_the_whole_webinar_key(query: str):
    # a webinar is (platform, webinar_id): a join on webinar_id alone may pair two platforms' ids
    joins = re.findall(r"\bjoin\b.*?\bon\b(.*?)(?:\bwhere\b|\bgroup\b|\bjoin\b|;)", query, flags=re.S | re.I)
    for condition in joins:
        if "webinar_id" in condition:
            assert "platform" in condition, condition
