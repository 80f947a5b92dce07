"""A bad setting fails at once with a ``ConfigError`` that names the setting to fix (and no secret)."""

from __future__ import annotations

import json

import pytest

from webinar_dwh import config
from webinar_dwh.config import ConfigError, PipelineSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DWH_TIMEZONE",
        "DWH_LOOKBACK_DAYS",
        "DWH_HTTP_BACKOFF_CAP",
        "AIRFLOW_CTX_DAG_ID",
        "DWH_SCHEDULE",
        "DWH_TASK_RETRIES",
        "DWH_FRESHNESS_WARN_HOURS",
        "DWH_FRESHNESS_ERROR_HOURS",
        "DWH_PII_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_apply_without_any_setting() -> None:
    settings = PipelineSettings.from_env()
    assert settings.timezone == "Europe/Berlin"
    assert settings.lookback_days == 14
    assert settings.http_backoff_cap == 30.0


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "Europe/Berlin ", "../etc/passwd", "UTC+2"])
def test_an_invalid_timezone_names_dwh_timezone(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DWH_TIMEZONE", value)
    with pytest.raises(ConfigError, match="DWH_TIMEZONE"):
        PipelineSettings.from_env()


@pytest.mark.parametrize("value", ["fourteen", "1.5", "-3", "14d"])
def test_an_invalid_lookback_names_dwh_lookback_days(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DWH_LOOKBACK_DAYS", value)
    with pytest.raises(ConfigError, match="DWH_LOOKBACK_DAYS"):
        PipelineSettings.from_env()


@pytest.mark.parametrize("value", ["fast", "-1", "nan"])
def test_an_invalid_backoff_cap_names_dwh_http_backoff_cap(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DWH_HTTP_BACKOFF_CAP", value)
    with pytest.raises(ConfigError, match="DWH_HTTP_BACKOFF_CAP"):
        PipelineSettings.from_env()


def test_the_backoff_cap_reaches_every_vendor_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from webinar_dwh.sources import _common
    from webinar_dwh.sources.bigmarker.client import BigMarkerClient
    from webinar_dwh.sources.bigmarker.settings import BigMarkerSettings

    monkeypatch.setenv("DWH_HTTP_BACKOFF_CAP", "0.2")
    overrides = _common.pipeline_overrides(PipelineSettings.from_env())
    assert overrides["backoff_cap"] == 0.2
    conn = config.ConnectionInfo(
        conn_id="bigmarker_default", host="http://127.0.0.1:9/api/v1", password="k3y!"
    )
    client = BigMarkerClient(BigMarkerSettings.from_connection(conn, **overrides))
    assert client.session.retry.backoff_max == 0.2


@pytest.mark.parametrize(
    "value",
    [
        '{"conn_type": "http", "host": "http://127.0.0.1:1/api/v1", "password": "s3cr3t-key"',  # unclosed
        "{'conn_type': 'http', 'password': 's3cr3t-key'}",  # Python, not JSON
        '{"conn_type": "http", "password": "s3cr3t-key",}',  # trailing comma
    ],
)
def test_malformed_connection_json_names_the_variable_and_hides_the_secret(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BIGMARKER_DEFAULT", value)
    with pytest.raises(ConfigError) as failure:
        config.get_connection("bigmarker_default")
    assert "AIRFLOW_CONN_BIGMARKER_DEFAULT" in str(failure.value)
    assert "s3cr3t-key" not in str(failure.value)


def test_a_connection_json_whose_extra_is_broken_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    value = json.dumps({"conn_type": "http", "host": "https://api.zoom.us/v2", "extra": "{account_id: x"})
    monkeypatch.setenv("AIRFLOW_CONN_ZOOM_DEFAULT", value)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_ZOOM_DEFAULT"):
        config.get_connection("zoom_default")


@pytest.mark.parametrize(
    "value",
    [
        json.dumps({"conn_type": "postgres", "port": "fivefourthree"}),
        "postgresql://dwh_owner:pw@127.0.0.1:fivefourthree/dwh",
    ],
)
def test_a_connection_with_a_non_numeric_port_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DWH_DEFAULT", value)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_DWH_DEFAULT"):
        config.get_connection("dwh_default")


def test_an_undefined_connection_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_CALENDLY_DEFAULT", raising=False)
    monkeypatch.delenv("SUPERVISOR_COMMS", raising=False)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_CALENDLY_DEFAULT"):
        config.get_connection("calendly_default")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DWH_TASK_RETRIES", "two", "DWH_TASK_RETRIES='two' is not a whole number"),
        ("DWH_SCHEDULE", "0 25 * * *", "DWH_SCHEDULE='0 25 * * *' is not a cron expression"),
        ("DWH_FRESHNESS_WARN_HOURS", "0", "DWH_FRESHNESS_WARN_HOURS=0 must be >= 1"),
        ("DWH_FRESHNESS_ERROR_HOURS", "12", "_ERROR_HOURS=12 must be >= DWH_FRESHNESS_WARN_HOURS=36"),
    ],
)
def test_every_setting_is_validated_and_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        PipelineSettings.from_env()
    assert message in str(err.value)
    # parsing the DAG never raises: the defaults, and the message for the first task to fail with
    settings, error = PipelineSettings.for_parsing()
    assert settings == PipelineSettings() and error is not None and message in error


def test_parsing_settings_are_the_real_ones_when_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_TASK_RETRIES", "5")
    assert PipelineSettings.for_parsing() == (PipelineSettings(task_retries=5), None)


def test_the_templates_placeholder_is_refused_in_connections_and_the_pii_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_BIGMARKER_DEFAULT",
        json.dumps({"conn_type": "http", "host": "https://bm.example/api/v1", "password": "CHANGE_ME"}),
    )
    with pytest.raises(ConfigError, match="'bigmarker_default' still holds the placeholder CHANGE_ME"):
        config.get_connection("bigmarker_default")
    monkeypatch.setenv("DWH_PII_KEY", "CHANGE_ME")
    with pytest.raises(ConfigError, match="DWH_PII_KEY still holds the placeholder"):
        config.pii_key()


def test_per_source_concurrency_and_max_rps_reach_only_that_vendor_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from webinar_dwh.sources import _common
    from webinar_dwh.sources.bigmarker.settings import BigMarkerSettings

    monkeypatch.setenv("DWH_BIGMARKER_CONCURRENCY", "6")
    monkeypatch.setenv("DWH_BIGMARKER_MAX_RPS", "12.5")
    settings = PipelineSettings.from_env()
    assert settings.concurrency == {"bigmarker": 6} and settings.max_rps == {"bigmarker": 12.5}
    conn = config.ConnectionInfo(conn_id="bigmarker_default", host="http://127.0.0.1:9/api/v1", password="k")
    bm = BigMarkerSettings.from_connection(conn, **_common.pipeline_overrides(settings, "bigmarker"))
    limiter = bm.limiter()
    assert (bm.concurrency, bm.max_rps) == (6, 12.5) and limiter is not None and limiter.concurrency == 6
    calendly = _common.pipeline_overrides(settings, "calendly")
    assert BigMarkerSettings.from_connection(conn, **calendly).limiter() is None  # sequential, as before
    monkeypatch.setenv("DWH_ZOOM_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="DWH_ZOOM_CONCURRENCY"):
        PipelineSettings.from_env()
