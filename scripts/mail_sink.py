"""Development mail sink: an SMTP server (aiosmtpd) that writes every message it
accepts to MAIL_SINK_DIR (var/mail/) as a plain-text file a developer can read.

`make run` starts it on MAIL_SERVER:MAIL_PORT (127.0.0.1:8025) when no real SMTP
server is configured. Nothing is relayed anywhere.
"""

import logging
import re
import signal
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from itertools import count
from pathlib import Path

from aiosmtpd.controller import Controller

from api.clock import utcnow
from config import Config

log = logging.getLogger("mail_sink")


class FileSink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.sequence = count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content, policy=default_policy)
        path = self.directory / self.file_name(message)
        path.write_text(readable(message, envelope), encoding="utf-8")
        log.info("Wrote %s", path)
        return "250 Message accepted for delivery"

    def file_name(self, message) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", str(message["Subject"] or "").lower()).strip("-")[:50]
        return f"{utcnow():%Y%m%dT%H%M%S%fZ}-{next(self.sequence):04d}-{slug or 'message'}.eml"


def readable(message, envelope) -> str:
    """Headers a reader cares about, then the decoded text body (no transfer encoding)."""
    lines = [f"{name}: {message[name]}" for name in ("Date", "From", "To", "Subject", "Message-ID")
             if message[name]]
    lines.append(f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}")
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else envelope.content.decode(errors="replace")
    return "\n".join(lines) + "\n\n" + text


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    directory = Path(Config.MAIL_SINK_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(FileSink(directory), hostname=Config.MAIL_SERVER, port=Config.MAIL_PORT)
    controller.start()
    log.info("SMTP sink on %s:%s writing to %s", Config.MAIL_SERVER, Config.MAIL_PORT, directory)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
