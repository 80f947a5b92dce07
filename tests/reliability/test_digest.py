"""The morning digest against the published reference marts, delivered to real receivers.

Reads the session's ``clean_morning`` warehouse (read-only here: delivering is recorded in
``meta.digest_deliveries`` only by ``send_digest``, which the e2e morning exercises); a real
HTTP webhook and a real SMTP server (aiosmtpd) on 127.0.0.1 receive what is sent.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest

from tests.e2e.harness import MORNING, PublishedWarehouse
from tests.receivers import http_receiver, smtp_receiver, text_part
from webinar_dwh import digest, notify, pipeline
from webinar_dwh.config import ConnectionInfo, patched_env
from webinar_dwh.run import RunInfo

pytestmark = pytest.mark.e2e

TZ = "Europe/Berlin"


def test_the_digest_numbers_are_the_published_marts(clean_morning: PublishedWarehouse) -> None:
    with psycopg.connect(clean_morning.owner_dsn) as conn:
        assert (default := digest.collect(conn, timezone=TZ)) is not None
        assert default.day == date(2026, 11, 24)  # the cut-off's reporting date
        # the sandbox holds a webinar every few days: the morning after the last one held
        (last_held,) = conn.execute(
            "select max(webinar_date) from marts.webinar_attendance where is_held"
        ).fetchone()
        morning = last_held + timedelta(days=1)
        data = digest.collect(conn, timezone=TZ, quarantined=3, day=morning)
    assert data is not None
    week = {"yesterday": last_held, "today": morning, "week_end": morning + timedelta(days=7)}
    with psycopg.connect(clean_morning.bi_dsn) as conn:
        held = conn.execute(
            "select webinar_id, registered, attended from marts.webinar_attendance "
            "where is_held and webinar_date = %(yesterday)s order by start_time, title",
            week,
        ).fetchall()
        coming = conn.execute(
            "select webinar_id, registered_so_far, forecast_registrations, forecast_attendees "
            "from marts.webinar_forecast where webinar_date >= %(today)s and webinar_date < %(week_end)s "
            "order by start_time, title",
            week,
        ).fetchall()
        flags = conn.execute("select count(*) from marts.webinar_flags").fetchone()
    assert held, "a webinar was held the day before"
    assert [(w["webinar_id"], w["registered"], w["attended"]) for w in data.yesterday] == held
    assert [
        (w["webinar_id"], w["registered_so_far"], w["forecast_registrations"], w["forecast_attendees"])
        for w in data.upcoming
    ] == coming
    assert (len(data.flags),) == flags

    message = digest.compose(data, dashboard_url="https://bi.example.com/", timezone=TZ)
    with http_receiver() as hook, smtp_receiver() as mailbox:
        host, port = mailbox.url.split(":")
        webhook = ConnectionInfo(
            "digest_webhook", conn_type="http", host=hook.url, extra_dejson={"format": "json"}
        )
        email = ConnectionInfo(
            "digest_email",
            conn_type="smtp",
            host=host,
            port=int(port),
            extra_dejson={"to": ["team@example.com", "sales@example.com"], "from_email": "dwh@example.com"},
        )
        assert notify.deliver(webhook, message) == "webhook:json"
        assert notify.deliver(email, message) == "email"
    (body,) = hook.items
    assert [(w["webinar_id"], w["registered"], w["attended"]) for w in body["data"]["yesterday"]] == held
    assert body["data"]["quarantined"] == 3
    (mail,) = mailbox.items
    assert mail["X-Envelope-To"] == "team@example.com, sales@example.com"
    text = text_part(mail)
    for (_, registered, attended), row in zip(held, data.yesterday, strict=True):
        line = f"{row['title']} ({row['course']}, {row['language']}): {registered} registered, "
        assert f"{line}{attended} attended" in text
    assert "Records quarantined this run: 3" in text and "https://bi.example.com/" in text


def test_a_digest_that_cannot_be_delivered_never_fails_the_run_and_is_alerted_once(
    clean_morning: PublishedWarehouse, webhook: list[dict]
) -> None:
    """A webhook answering 500 and an SMTP server that is not there: the task returns, says
    which destination failed and why (no secret), and one alert goes out."""
    with (
        http_receiver(status=500) as broken,
        patched_env(
            {
                "AIRFLOW_CONN_DWH_DEFAULT": clean_morning.owner_dsn,
                "AIRFLOW_CONN_DIGEST_WEBHOOK": json.dumps(
                    {"conn_type": "http", "host": broken.url, "password": "s3cret"}
                ),
                "AIRFLOW_CONN_DIGEST_EMAIL": json.dumps(
                    {
                        "conn_type": "smtp",
                        "host": "127.0.0.1",
                        "port": 9,
                        "extra": {"to": "team@example.com", "from_email": "d@x.y"},
                    }
                ),
            }
        ),
    ):
        outcome = pipeline.send_digest(RunInfo.manual(MORNING), {"quarantined": {"zoom": 1}})
    assert outcome["sent"] == {}
    assert "answered HTTP 500" in outcome["failed"]["digest_webhook"]
    assert "127.0.0.1:9" in outcome["failed"]["digest_email"]
    assert "s3cret" not in json.dumps(outcome)
    (alert,) = webhook
    assert alert["kind"] == "digest_failed" and "digest_webhook" in alert["reason"]
    with psycopg.connect(clean_morning.owner_dsn) as conn:
        assert conn.execute("select count(*) from meta.digest_deliveries").fetchone() == (0,)
