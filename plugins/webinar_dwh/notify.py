"""Deliver a message to people: a chat webhook (Slack, Mattermost, Teams or plain JSON) or e-mail.

A destination is an Airflow connection:

* **webhook** — any connection type but ``smtp``/``email``: ``host`` is the full URL of the
  incoming webhook, ``password`` (optional) is sent as a bearer token, ``extra.format`` picks the
  payload: ``slack`` (``text`` + Block Kit sections), ``mattermost`` (``text`` in Markdown),
  ``teams`` (an Adaptive Card in a ``message`` attachment, what Teams workflows accept) or
  ``json`` (the default: ``text`` plus the structured ``data``).
* **e-mail** — connection type ``smtp`` or ``email``: ``host``/``port`` of the SMTP server,
  ``login``/``password`` when it needs them, ``extra.to`` (list or comma-separated),
  ``extra.from_email`` (default: the login), ``extra.starttls`` (default: port 587) and
  ``extra.ssl`` (default: port 465). A plain-text body and an HTML alternative are sent.

Delivery failures raise :class:`DeliveryError` with a message that names the connection and never
carries a secret.
"""

from __future__ import annotations

import html
import json
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Final

import requests

from webinar_dwh.config import ConnectionInfo

WEBHOOK_FORMATS: Final = ("json", "slack", "mattermost", "teams")
EMAIL_CONN_TYPES: Final = frozenset({"smtp", "email"})


class DeliveryError(RuntimeError):
    """A message could not be delivered to a destination (the message says which and why)."""


@dataclass(frozen=True)
class Section:
    """A titled block of lines (``**bold**`` is the only markup a line may carry)."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    """What is delivered: a title, sections, an optional link, and structured data (JSON format)."""

    title: str
    sections: tuple[Section, ...]
    link: tuple[str, str] | None = None  # (label, url)
    data: dict[str, Any] = field(default_factory=dict)


def _plain(line: str) -> str:
    return line.replace("**", "")


def render_text(message: Message) -> str:
    """Plain text (the e-mail body and every payload's fallback)."""
    parts = [message.title, ""]
    for section in message.sections:
        parts += [section.title, *(f"  {_plain(line)}" for line in section.lines), ""]
    if message.link:
        parts.append(f"{message.link[0]}: {message.link[1]}")
    return "\n".join(parts).rstrip() + "\n"


def render_markdown(message: Message, *, bold: str = "**") -> str:
    """Markdown (Mattermost, Teams); ``bold="*"`` gives Slack's mrkdwn."""
    parts = [f"{bold}{message.title}{bold}", ""]
    for section in message.sections:
        parts.append(f"{bold}{section.title}{bold}")
        parts += [f"- {line.replace('**', bold)}" for line in section.lines]
        parts.append("")
    if message.link:
        label, url = message.link
        parts.append(f"<{url}|{label}>" if bold == "*" else f"[{label}]({url})")
    return "\n".join(parts).rstrip()


def render_html(message: Message) -> str:
    """A small HTML alternative for e-mail clients."""

    def line_html(line: str) -> str:
        pieces = html.escape(line).split("**")
        return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(pieces))

    body = [f"<h2>{html.escape(message.title)}</h2>"]
    for section in message.sections:
        items = "".join(f"<li>{line_html(line)}</li>" for line in section.lines)
        body.append(f"<h3>{html.escape(section.title)}</h3><ul>{items}</ul>")
    if message.link:
        label, url = message.link
        body.append(f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>')
    return "<html><body>" + "".join(body) + "</body></html>"


def webhook_payload(message: Message, fmt: str) -> dict[str, Any]:
    """The JSON body for a webhook of format ``fmt`` (one of :data:`WEBHOOK_FORMATS`)."""
    if fmt == "slack":
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}}
        ]
        for section in message.sections:
            items = "\n".join(f"• {line.replace('**', '*')}" for line in section.lines)
            text = f"*{section.title}*\n{items}"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        if message.link:
            label, url = message.link
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{url}|{label}>"}]})
        return {"text": render_text(message)[:3000], "blocks": blocks[:50]}
    if fmt == "mattermost":
        return {"text": render_markdown(message)}
    if fmt == "teams":
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Large", "wrap": True}
        ]
        for section in message.sections:
            body.append({"type": "TextBlock", "text": section.title, "weight": "Bolder", "wrap": True})
            items = "\n".join(f"- {line}" for line in section.lines)
            body.append({"type": "TextBlock", "text": items, "wrap": True})
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
        if message.link:
            label, url = message.link
            card["actions"] = [{"type": "Action.OpenUrl", "title": label, "url": url}]
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
    if fmt == "json":
        return {"text": render_text(message), "title": message.title, "data": message.data}
    raise DeliveryError(f"unknown webhook format {fmt!r}; use one of {', '.join(WEBHOOK_FORMATS)}")


def post_json(conn: ConnectionInfo, body: dict[str, Any], *, timeout_s: float = 10.0) -> None:
    """POST ``body`` to the webhook URL of ``conn`` (``host``; ``password`` as bearer token)."""
    if not conn.host:
        raise DeliveryError(f"connection '{conn.conn_id}' has no host (the webhook URL)")
    url = conn.host if "://" in conn.host else f"https://{conn.host}"
    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    try:
        resp = requests.post(url, data=json.dumps(body, default=str), headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        raise DeliveryError(
            f"webhook of connection '{conn.conn_id}' unreachable ({type(exc).__name__})"
        ) from None
    if resp.status_code >= 300:
        raise DeliveryError(f"webhook of connection '{conn.conn_id}' answered HTTP {resp.status_code}")


def _recipients(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return []


def send_email(conn: ConnectionInfo, message: Message, *, timeout_s: float = 30.0) -> None:
    """Send ``message`` over SMTP as configured by ``conn`` (see the module docstring)."""
    extra = conn.extra_dejson or {}
    to = _recipients(extra.get("to"))
    sender = str(extra.get("from_email") or conn.login or "")
    if not conn.host or not to or not sender:
        raise DeliveryError(
            f"e-mail connection '{conn.conn_id}' needs a host, extra.to and extra.from_email (or a login)"
        )
    port = conn.port or 25
    use_ssl = bool(extra.get("ssl", port == 465))
    use_starttls = bool(extra.get("starttls", port == 587))
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail.set_content(render_text(message))
    mail.add_alternative(render_html(message), subtype="html")
    try:
        if use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                conn.host, port, timeout=timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(conn.host, port, timeout=timeout_s)
        with smtp:
            if use_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if conn.login and conn.password:
                smtp.login(conn.login, conn.password)
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"e-mail via connection '{conn.conn_id}' ({conn.host}:{port}) failed: {type(exc).__name__}"
        ) from None


def deliver(conn: ConnectionInfo, message: Message) -> str:
    """Deliver ``message`` to the destination ``conn`` describes; returns what was used
    (``email`` or ``webhook:<format>``)."""
    if (conn.conn_type or "").lower() in EMAIL_CONN_TYPES:
        send_email(conn, message)
        return "email"
    fmt = str((conn.extra_dejson or {}).get("format", "json")).lower()
    post_json(conn, webhook_payload(message, fmt))
    return f"webhook:{fmt}"
