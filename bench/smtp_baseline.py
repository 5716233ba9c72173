"""The mail baseline: one process, one reused SMTP connection, a plain loop.

`python -m bench.smtp_baseline PORT COUNT` sends COUNT messages shaped like the
outbox's (same sender, recipient pattern, subject and body size) and prints JSON
with the elapsed time.
"""

import json
import smtplib
import sys
import time
from email.message import EmailMessage

SENDER = "Library <library@localhost>"
SUBJECT = "Overdue: a generated book for the benchmark"
BODY = ("Hello,\n\nThe book you borrowed is overdue. Please return it as soon as you can.\n\n"
        "— The library\n") * 2


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in range(count):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = SENDER, f"user{i}@bench.invalid", SUBJECT
            msg.set_content(BODY)
            smtp.send_message(msg)
    elapsed = time.perf_counter() - started
    json.dump({"sent": count, "seconds": round(elapsed, 3), "per_s": round(count / elapsed, 1)},
              sys.stdout)


if __name__ == "__main__":
    main()
