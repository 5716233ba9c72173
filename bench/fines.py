"""fines-accrual over N open overdue loans vs one raw INSERT ... SELECT ... ON CONFLICT.

Every seeded loan is overdue (due 3 days ago), FINE_PER_DAY=10, so each run writes N
lines of 30. Each run is a fresh process (bench.jobproc runs the shipped Celery task
in-process, TaskRun bookkeeping included; bench.baselines.fines_sql the baseline),
alternating, with account_lines emptied between runs so every run does the same work.
Peak RSS is each job process's VmHWM; time per loan is the median run over N.
"""

import importlib
import sys

from sqlalchemy import text

from bench.data import clear_loans, seed_loans
from bench.harness import Row, interleaved, median, skipped
from bench.overdue import run_process

NAME = "fines"
BENCH = "fines-accrual, {n} overdue loans"
TARGET = "≤ 2×"
RSS_BENCH = "fines-accrual peak RSS, {a} → {b} overdue loans"
RSS_TARGET = "flat (≤ +10%)"
JOB = "worker.fines:fines_accrual"
FINES = {"FINE_PER_DAY": "10", "FINE_GRACE_DAYS": "0", "MAX_FINE": "1000"}


def run(ctx) -> list[Row]:
    targets = [(BENCH.format(n=f"{n:,}"), TARGET) for n in ctx.sizes.loan_sizes]
    if not ctx.services.postgres:
        return [skipped(name, target, "needs PostgreSQL") for name, target in targets]
    reason = job_available()
    if reason:
        return [skipped(name, target, reason) for name, target in targets]
    services, engine = ctx.services, ctx.services.engine()
    env = ctx.app_env(**FINES)
    rows, peaks, raw = [], {}, {}

    def lines_written() -> tuple[int, int]:
        with engine.begin() as conn:
            found = conn.execute(text("SELECT count(*), coalesce(sum(amount), 0) FROM account_lines "
                                      "WHERE kind = 'overdue'")).one()
            conn.execute(text("TRUNCATE account_lines"))  # the next run starts from the same state
        return int(found[0]), int(found[1])

    def app_run(timeout):
        result = run_process([sys.executable, "-m", "bench.jobproc", JOB], env, timeout)
        result["lines"] = lines_written()
        return result

    def sql_run(timeout):
        result = run_process([sys.executable, "-m", "bench.baselines.fines_sql", services.dsn],
                             env, timeout)
        result["lines"] = lines_written()
        return result

    for n in ctx.sizes.loan_sizes:
        clear_loans(engine)
        print(f"  seeding {n:,} overdue loans", flush=True)
        seed_loans(engine, n, ctx.sizes.books, overdue_every=1)
        spread_due_dates(engine)
        timeout = 60 + n / 2000
        runs = interleaved(ctx.sizes.job_runs, {"app": lambda t=timeout: app_run(t),
                                                "sql": lambda t=timeout: sql_run(t)})
        raw[n] = runs
        a = median([r["seconds"] for r in runs["app"]])
        b = median([r["seconds"] for r in runs["sql"]])
        peaks[n] = max(r["peak_rss_mb"] for r in runs["app"])
        written = {r["lines"] for r in runs["app"]} | {r["lines"] for r in runs["sql"]}
        same = len(written) == 1
        count, total = next(iter(written))
        note = (f"{count:,} lines, {total:,} minor units each side" if same
                else f"lines differ (count, sum): {sorted(written)}")
        rows.append(Row(BENCH.format(n=f"{n:,}"), f"{a:.2f} s ({a / n * 1e6:.1f} µs/loan)",
                        f"one INSERT … ON CONFLICT {b:.2f} s ({b / n * 1e6:.1f} µs/loan)",
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


def spread_due_dates(engine) -> None:
    """seed_loans gives every overdue loan the same due_at to the microsecond; real due
    dates (borrowed_at + loan days) differ. With one shared value the (due_at, id) keyset
    over ix_loans_open_due_at (due_at only) re-reads every equal row per batch, which
    measures the seeding, not the job: spread them 1 ms apart (100 s over 100k loans)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE loans SET due_at = due_at - id * interval '1 millisecond' "
                          "WHERE returned_at IS NULL"))
        conn.execute(text("ANALYZE loans"))


def job_available() -> str:
    module, _, name = JOB.partition(":")
    try:
        getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return f"{JOB} not importable ({type(exc).__name__}: {exc})"
    return ""
