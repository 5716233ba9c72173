"""The overdue check over 100k and 1M open loans (10% overdue) vs one raw INSERT ... SELECT.

Each run is a fresh process (bench.jobproc for the job, bench.baselines.overdue_sql
for the baseline), alternating, with the outbox emptied between runs so every run
does the same work. Peak RSS comes from each job process's ru_maxrss.
"""

import importlib
import json
import subprocess
import sys

from sqlalchemy import text

from bench.data import clear_loans, seed_loans
from bench.harness import ROOT, Row, interleaved, median, skipped

NAME = "overdue"
BENCH = "overdue check, {n} loans (10% overdue)"
TARGET = "≤ 2×"
RSS_BENCH = "overdue check peak RSS, {a} → {b} loans"
RSS_TARGET = "flat (≤ +10%)"
# The job's entry point: the plain function the Celery task wraps.
JOB = "worker.jobs:overdue_check"


def job_available() -> str:
    module, _, name = JOB.partition(":")
    try:
        getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return f"{JOB} not importable yet ({type(exc).__name__}: {exc})"
    return ""


def run_process(cmd, env, timeout, cwd=None) -> dict:
    out = subprocess.run(cmd, cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"{cmd[2]} failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(ctx) -> list[Row]:
    targets = [(BENCH.format(n=f"{n:,}"), TARGET) for n in ctx.sizes.loan_sizes]
    if not ctx.services.postgres:
        return [skipped(name, target, "needs PostgreSQL") for name, target in targets]
    reason = job_available()
    if reason:
        return [skipped(name, target, reason) for name, target in targets]
    services, engine = ctx.services, ctx.services.engine()
    env = ctx.app_env()
    rows, peaks, raw = [], {}, {}

    def outbox_rows() -> int:
        with engine.begin() as conn:
            count = conn.scalar(text("SELECT count(*) FROM notifications WHERE kind = 'overdue'"))
            conn.execute(text("TRUNCATE notifications"))  # the next run starts from the same state
        return count

    def app_run(timeout):
        result = run_process([sys.executable, "-m", "bench.jobproc", JOB], env, timeout)
        result["notices"] = outbox_rows()
        return result

    def sql_run(timeout):
        result = run_process([sys.executable, "-m", "bench.baselines.overdue_sql", services.dsn],
                             env, timeout)
        result["notices"] = outbox_rows()
        return result

    for n in ctx.sizes.loan_sizes:
        clear_loans(engine)
        print(f"  seeding {n:,} loans", flush=True)
        seed_loans(engine, n, ctx.sizes.books)
        timeout = 60 + n / 2000  # bounded: a job that stalls fails the row, not the run
        runs = interleaved(ctx.sizes.job_runs, {"app": lambda t=timeout: app_run(t),
                                                "sql": lambda t=timeout: sql_run(t)})
        raw[n] = runs
        a = median([r["seconds"] for r in runs["app"]])
        b = median([r["seconds"] for r in runs["sql"]])
        peaks[n] = max(r["peak_rss_mb"] for r in runs["app"])
        notices = {r["notices"] for r in runs["app"]}, {r["notices"] for r in runs["sql"]}
        same = notices[0] == notices[1] and len(notices[0]) == 1
        note = (f"{notices[0].pop():,} notices each" if same
                else f"notice counts differ: app {sorted(notices[0])} vs SQL {sorted(notices[1])}")
        rows.append(Row(BENCH.format(n=f"{n:,}"), f"{a:.2f} s", f"one INSERT … SELECT {b:.2f} s",
                        f"{a / b:.2f}×", TARGET, a / b <= 2.0 and same,
                        f"{note}; peak RSS {peaks[n]:.0f} MB"))
    clear_loans(engine)
    engine.dispose()
    ctx.raw[NAME] = raw
    if len(peaks) >= 2:
        (lo, p_lo), (hi, p_hi) = min(peaks.items()), max(peaks.items())
        rows.append(Row(RSS_BENCH.format(a=f"{lo:,}", b=f"{hi:,}"), f"{p_hi:.0f} MB at {hi:,}",
                        f"{p_lo:.0f} MB at {lo:,}", f"{p_hi / p_lo:.2f}×", RSS_TARGET,
                        p_hi <= 1.1 * p_lo, "peak resident set of the job's process"))
    return rows
