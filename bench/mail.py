"""Sending N outbox notifications through the Celery worker to a local SMTP sink, vs one
process looping over one reused SMTP connection to the same sink.

The app side is the real path: rows are `pending` in the outbox, the app's own
outbox kick enqueues worker.mail.send_pending, and a `celery -A celery_app worker`
(started by the bench, default prefork pool) claims and sends them. Timing runs from
the kick until every row is `sent` (polled). Worker start-up is not timed.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from api.embedded_redis import free_port
from bench.data import table
from bench.harness import ROOT, Row, interleaved, median, skipped, tail, tree_cpu_seconds
from bench.smtp_baseline import BODY, SENDER, SUBJECT
from bench.smtp_sink import received

NAME = "mail"
BENCH = "{n} notifications through the worker to an SMTP sink"
TARGET = "≥ 0.7×"
LOG = ROOT / "var" / "bench" / "worker.log"


def start(cmd, env, log, ready: str, timeout: float = 60) -> subprocess.Popen:
    """Start a helper process in its own group and wait for `ready` in its output."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while ready not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"{cmd[2]} did not start: {tail(log)}")
        time.sleep(0.2)  # polling a starting process
    return proc


def stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this bench started: worker + its pool
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seed_outbox(engine, n: int, tag) -> None:
    """Replace the outbox with `n` due, pending rows shaped like overdue notices."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notifications"))
        conn.execute(table("notifications").insert(), [{
            "kind": "overdue", "dedupe_key": f"bench:mail:{tag}:{i}",
            "recipient": f"user{i}@bench.invalid", "subject": SUBJECT, "body": BODY,
            "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
        } for i in range(n)])


def run(ctx) -> list[Row]:
    n = ctx.sizes.mails
    name = BENCH.format(n=f"{n:,}")
    if not (ROOT / "celery_app.py").exists() or not (ROOT / "worker" / "mail.py").exists():
        return [skipped(name, TARGET, "worker/mail.py or celery_app.py not there yet")]
    smtp_port, count_port = free_port(), free_port()
    env = ctx.app_env(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port), MAIL_USE_TLS="false",
                               MAIL_USERNAME="", MAIL_DEFAULT_SENDER=SENDER)
    sink = start([sys.executable, "-m", "bench.smtp_sink", str(smtp_port), str(count_port)], env,
                 ROOT / "var" / "bench" / "sink.log", "ready")
    worker = None
    try:
        worker = start([sys.executable, "-m", "celery", "-A",
                        "celery_app", "worker", "--loglevel=INFO",
                        "--without-gossip", "--without-mingle", "--without-heartbeat",
                        "-n", "bench@%h"], env, LOG, " ready.")
        app = ctx.services.app(MAIL_PORT=str(smtp_port))
        engine = ctx.services.engine()
        timeout = 60 + n / 20
        state = {"round": 0}

        def through_worker():
            state["round"] += 1
            seed_outbox(engine, n, state["round"])
            before, cpu = received(count_port), tree_cpu_seconds(worker.pid)
            started = time.perf_counter()
            with app.app_context():
                app.extensions["outbox_kick"]()
            sent = 0
            while sent < n and time.perf_counter() - started < timeout:
                time.sleep(0.05)  # polling the outbox for completion; the interval bounds resolution
                with engine.connect() as conn:
                    sent = conn.scalar(text("SELECT count(*) FROM notifications WHERE state = 'sent'"))
            elapsed = time.perf_counter() - started
            return {"seconds": elapsed, "sent": sent, "received": received(count_port) - before,
                    "cpu_ms": (tree_cpu_seconds(worker.pid) - cpu) * 1000 / n}

        def baseline():
            before, cpu = received(count_port), children_cpu()
            out = subprocess.run([sys.executable, "-m", "bench.smtp_baseline", str(smtp_port), str(n)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                                 timeout=timeout)
            result = json.loads(out.stdout)
            result["received"] = received(count_port) - before
            result["cpu_ms"] = (children_cpu() - cpu) * 1000 / n  # interpreter start-up included
            return result

        runs = interleaved(ctx.sizes.mail_runs, {"app": through_worker, "loop": baseline})
        engine.dispose()
    except RuntimeError as exc:
        return [skipped(name, TARGET, str(exc)[:300])]
    finally:
        if worker is not None:
            stop(worker)
        stop(sink)
    ctx.raw[NAME] = runs
    a = n / median([r["seconds"] for r in runs["app"]])
    b = n / median([r["seconds"] for r in runs["loop"]])
    complete = all(r["sent"] == n and r["received"] == n for r in runs["app"])
    cpu = median([r["cpu_ms"] for r in runs["app"]]), median([r["cpu_ms"] for r in runs["loop"]])
    note = (f"all {n:,} sent and received each run" if complete else
            f"incomplete: sent {[r['sent'] for r in runs['app']]}, "
            f"sink got {[r['received'] for r in runs['app']]}")
    return [Row(name, f"{a:,.0f} msg/s", f"one connection, one loop {b:,.0f} msg/s", f"{a / b:.2f}×",
                TARGET, a / b >= 0.7 and complete,
                f"{note}; sender CPU/message: worker {cpu[0]:.2f} ms vs loop {cpu[1]:.2f} ms")]
