"""Real receivers on 127.0.0.1 for what the pipeline sends: a webhook (HTTP) and an SMTP server.

Both run in a thread of the test process and record what arrived; nothing is mocked on the
sending side (requests / smtplib talk to real sockets).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """What a receiver got, in arrival order."""

    url: str
    items: list[Any] = field(default_factory=list)


@contextmanager
def http_receiver(*, status: int = 200) -> Iterator[Received]:
    """A webhook on ``Received.url`` answering ``status``; items are the JSON bodies (with ``path``)."""
    got = Received(url="")

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.items.append({"path": self.path, **json.loads(body)})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self, got: Received) -> None:
        self.got = got

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        mail["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.got.items.append(mail)
        return "250 OK"


@contextmanager
def smtp_receiver() -> Iterator[Received]:
    """An SMTP server (aiosmtpd) on ``127.0.0.1``; ``url`` is ``host:port``; items are the
    received :class:`email.message.Message` objects."""
    got = Received(url="")
    with socket.socket() as probe:  # a free port (the controller needs a fixed one to check readiness)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_Mailbox(got), hostname="127.0.0.1", port=port)
    controller.start()
    got.url = f"127.0.0.1:{controller.port}"
    try:
        yield got
    finally:
        controller.stop()


def text_part(mail: Message) -> str:
    """The ``text/plain`` body of a received e-mail."""
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")
