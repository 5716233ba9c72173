"""In-process SMTP sink that remembers the Message-ID of everything it accepts.

A Counter rather than a set: a duplicate delivery is exactly what the run looks for.
It also refuses the first attempt of every Nth message with a transient 451, so the
worker's retry path runs under load too and must neither lose nor repeat a message.
"""

import hashlib
import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from api.embedded_redis import free_port


class MessageIds:
    def __init__(self, refuse_every: int):
        self.ids: Counter[str] = Counter()
        self.refused: set[str] = set()
        self.refuse_every = refuse_every
        self.without_id = 0
        self.lock = threading.Lock()  # aiosmtpd's loop thread writes, the main thread reads

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=default_policy)
        mid = str(message["Message-ID"] or "").strip()
        with self.lock:
            if mid and mid not in self.refused and self._picked(mid):
                self.refused.add(mid)
                return "451 4.3.0 soak sink: try again later"
            if mid:
                self.ids[mid] += 1
            else:
                self.without_id += 1
        return "250 OK"

    def _picked(self, mid: str) -> bool:
        # By hash, not arrival order, so which messages are refused does not depend on timing.
        digest = int(hashlib.sha256(mid.encode()).hexdigest()[:8], 16)
        return self.refuse_every > 0 and digest % self.refuse_every == 0

    def snapshot(self) -> tuple[Counter, int, int]:
        with self.lock:
            return Counter(self.ids), self.without_id, len(self.refused)


class Sink:
    def __init__(self, refuse_every: int):
        self.port = free_port()
        self.handler = MessageIds(refuse_every)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> "Sink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
