"""Settings from Airflow-style connections: required fields, defaults, no secrets in repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from webinar_dwh.http import ConfigurationError
from webinar_dwh.sources.bigmarker import BigMarkerSettings
from webinar_dwh.sources.calendly import CalendlySettings
from webinar_dwh.sources.zoom import ZoomSettings

pytestmark = pytest.mark.unit


@dataclass
class Conn:
    conn_id: str = "x_default"
    host: str | None = None
    login: str | None = None
    password: str | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def test_bigmarker_settings_from_connection_hide_the_key() -> None:
    conn = Conn("bigmarker_default", host="https://www.bigmarker.com/api/v1/", password="bm-secret")
    settings = BigMarkerSettings.from_connection(conn, page_size=500, max_attempts=3)
    assert settings.base_url == "https://www.bigmarker.com/api/v1"
    assert (settings.api_key, settings.page_size, settings.max_attempts) == ("bm-secret", 500, 3)
    assert "bm-secret" not in repr(settings)


def test_missing_password_names_the_connection() -> None:
    with pytest.raises(ConfigurationError, match="'bigmarker_default' has no password"):
        BigMarkerSettings.from_connection(Conn("bigmarker_default", host="https://x"))


def test_host_without_scheme_defaults_to_https() -> None:
    conn = Conn("calendly_default", host="api.calendly.com", password="t")
    settings = CalendlySettings.from_connection(conn)
    assert settings.base_url == "https://api.calendly.com"


def test_calendly_page_size_is_capped_at_100() -> None:
    conn = Conn("calendly_default", host="https://api.calendly.com", password="tok-secret")
    settings = CalendlySettings.from_connection(conn, page_size=500)
    assert settings.page_size == 100 and "tok-secret" not in repr(settings)


def test_zoom_settings_use_extra_and_defaults() -> None:
    conn = Conn(
        "zoom_default",
        host="https://api.zoom.us/v2",
        login="client-id",
        password="client-secret",
        extra_dejson={"account_id": "acc"},
    )
    settings = ZoomSettings.from_connection(conn, page_size=1000)
    assert settings.oauth_url == "https://zoom.us/oauth/token" and settings.user_id == "me"
    assert settings.account_id == "acc" and settings.page_size == 300
    assert "client-secret" not in repr(settings) and "client-id" not in repr(settings)


def test_zoom_without_account_id_names_the_connection() -> None:
    conn = Conn("zoom_default", host="https://api.zoom.us/v2", login="a", password="b")
    with pytest.raises(ConfigurationError, match=r"'zoom_default' has no extra\.account_id"):
        ZoomSettings.from_connection(conn)
