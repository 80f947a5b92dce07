"""Message rendering: every destination format carries the same lines (no server needed)."""

from __future__ import annotations

import pytest

from webinar_dwh.notify import DeliveryError, Message, Section, render_html, render_text, webhook_payload

pytestmark = pytest.mark.unit

MESSAGE = Message(
    title="Webinars — morning of Tue 24 Nov 2026",
    sections=(
        Section("Yesterday", ("**Intro <Data>** (Data Analytics, en): 120 registered, 48 attended",)),
        Section("Flags", ("Nothing unusual.",)),
    ),
    link=("Open the dashboard", "https://bi.example.com/"),
    data={"yesterday": [{"registered": 120}]},
)


def test_text_and_html_carry_every_line_without_markup() -> None:
    text = render_text(MESSAGE)
    assert "Intro <Data> (Data Analytics, en): 120 registered, 48 attended" in text
    assert "**" not in text and text.endswith("Open the dashboard: https://bi.example.com/\n")
    page = render_html(MESSAGE)
    assert "<b>Intro &lt;Data&gt;</b>" in page and 'href="https://bi.example.com/"' in page


def test_each_webhook_format_has_its_vendor_shape() -> None:
    slack = webhook_payload(MESSAGE, "slack")
    assert slack["blocks"][0]["type"] == "header"
    assert "*Intro <Data>*" in slack["blocks"][1]["text"]["text"]
    assert "120 registered" in slack["text"]
    mattermost = webhook_payload(MESSAGE, "mattermost")
    assert (
        "**Intro <Data>**" in mattermost["text"]
        and "[Open the dashboard](https://bi.example.com/)" in mattermost["text"]
    )
    teams = webhook_payload(MESSAGE, "teams")
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["actions"][0]["url"] == "https://bi.example.com/"
    plain = webhook_payload(MESSAGE, "json")
    assert plain["data"] == {"yesterday": [{"registered": 120}]}


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(DeliveryError, match="unknown webhook format 'discord'"):
        webhook_payload(MESSAGE, "discord")
