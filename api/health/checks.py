"""Readiness checks. Each blocking client call runs in a thread of this module's own
pool; asyncio.wait_for bounds it (a timed-out thread is abandoned, not killed: the
clients' own socket timeouts end it later). Not asyncio's default executor: the event
loop that runs the async view waits for that one's threads when it closes, so a hung
check held the answer long past its timeout."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import text

from api.celery_setup import JOBS_QUEUE, MAIL_QUEUE
from api.extensions import db
from api.worker_heartbeat import STALE_AFTER_BEATS, unserved


def _database(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _redis(app: Flask) -> None:
    app.extensions["redis"].ping()


def _worker(app: Flask) -> None:
    interval = float(app.config["WORKER_HEARTBEAT_SECONDS"])
    if missing := unserved(app.extensions["redis"], (MAIL_QUEUE, JOBS_QUEUE), interval):
        raise RuntimeError(f"no worker consumes {' or '.join(missing)}: none has said so in the "
                           f"last {STALE_AFTER_BEATS * interval:g}s (api/worker_heartbeat.py)")


CHECKS = {"database": _database, "redis": _redis, "worker": _worker}
# Room for a few probes' worth of hung checks; past that a check waits for a thread and
# times out, which is the right answer for a dependency that hangs.
_POOL = ThreadPoolExecutor(max_workers=4 * len(CHECKS), thread_name_prefix="health-check")


async def _timed(app: Flask, check, timeout: float) -> dict:
    started = time.perf_counter()
    error = None
    try:
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_POOL, check, app), timeout)
    except TimeoutError:
        error = f"timed out after {timeout:g}s"
    except Exception as e:  # noqa: BLE001 - a failed check is reported, not raised
        error = f"{type(e).__name__}: {e}"[:500]
    return {"ok": error is None, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "error": error}


async def run_checks(app: Flask) -> dict:
    timeout = float(app.config["HEALTH_CHECK_TIMEOUT"])
    results = await asyncio.gather(*(_timed(app, check, timeout) for check in CHECKS.values()))
    return dict(zip(CHECKS, results, strict=True))
