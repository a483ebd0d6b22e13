"""An SMTP server on loopback that keeps what it receives: the stand-in for an e-mail provider."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from email import message_from_bytes
from typing import Any

from tests.support.server import free_port


class Mailbox:
    """Real SMTP on a free port. ``delay`` holds each message before accepting it,
    so a test can catch a sender in the middle of a delivery."""

    def __init__(self, delay: float = 0.0, hostname: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        # The address each message came from, by Message-ID: which process sent it.
        self.senders: dict[str, str] = {}
        self.in_flight = 0
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.in_flight += 1
                try:
                    await asyncio.sleep(delay)
                    message = message_from_bytes(envelope.content)
                    outer.senders[str(message["Message-ID"])] = str(session.peer[0])
                    outer.messages.append(message)
                finally:
                    outer.in_flight -= 1
                return "250 Message accepted"

        self.port = free_port()
        # Containers reach it through their network's gateway: hostname="0.0.0.0".
        self.controller = Controller(Handler(), hostname=hostname, port=self.port)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, recipient: str, timeout: float = 30) -> Any:
        """The first message to *recipient*, once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if recipient in message["To"]:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no e-mail to {recipient} within {timeout} s: {self.messages}")

    def deliveries(self) -> Counter[str]:
        """Messages received per recipient, counting every copy."""
        return Counter(str(message["To"]) for message in self.messages)

    def distinct_messages(self) -> Counter[str]:
        """Messages per recipient counted by Message-ID: what the recipient's mailbox shows."""
        seen = {(str(m["To"]), str(m["Message-ID"])) for m in self.messages}
        return Counter(recipient for recipient, _ in seen)


def welcome_emails(mailbox: Mailbox, email: str) -> set[str]:
    """The distinct welcome e-mails *email* received (by Message-ID)."""
    return {
        str(message["Message-ID"])
        for message in mailbox.messages
        if email in str(message["To"]) and str(message["Message-ID"]).startswith("<welcome.")
    }
