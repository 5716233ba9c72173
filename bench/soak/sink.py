"""In-process SMTP sink that remembers the Message-ID of everything it accepts.

A Counter rather than a set: a duplicate delivery is exactly what the run looks for.
"""

import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from api.embedded_redis import free_port


class MessageIds:
    def __init__(self):
        self.ids: Counter[str] = Counter()
        self.without_id = 0
        self.lock = threading.Lock()  # aiosmtpd's loop thread writes, the main thread reads

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=default_policy)
        mid = str(message["Message-ID"] or "").strip()
        with self.lock:
            if mid:
                self.ids[mid] += 1
            else:
                self.without_id += 1
        return "250 OK"

    def snapshot(self) -> tuple[Counter, int]:
        with self.lock:
            return Counter(self.ids), self.without_id


class Sink:
    def __init__(self):
        self.port = free_port()
        self.handler = MessageIds()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> "Sink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
