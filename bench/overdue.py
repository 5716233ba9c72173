"""The overdue check over 100k and 1M open loans (10% overdue) vs one raw INSERT ... SELECT
(bench/baselines/overdue_sql.py), through bench/jobbench.py; the outbox is emptied
between runs."""

from sqlalchemy import text

from bench import jobbench
from bench.data import seed_loans

NAME = "overdue"
# The job's entry point: the Celery task, run in-process by bench.jobproc.
JOB = "worker.jobs:overdue_check"


def notices(conn) -> int:
    count = conn.scalar(text("SELECT count(*) FROM notifications WHERE kind = 'overdue'"))
    conn.execute(text("TRUNCATE notifications"))  # the next run starts from the same state
    return count


def run(ctx):
    return jobbench.run(ctx, jobbench.JobBench(
        name=NAME, bench="overdue check, {n} loans (10% overdue)",
        rss_bench="overdue check peak RSS, {a} → {b} loans", job=JOB,
        baseline="bench.baselines.overdue_sql", baseline_label="one INSERT … SELECT",
        seed=lambda engine, n: seed_loans(engine, n, ctx.sizes.books),
        written=notices, describe=lambda count: f"{count:,} notices"))
