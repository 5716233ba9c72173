"""fines-accrual over N open overdue loans vs one raw INSERT ... SELECT ... ON CONFLICT
(bench/baselines/fines_sql.py), through bench/jobbench.py.

Every seeded loan is overdue (due 3 days ago) and the `*`/`*` rule charges 10 a day
(set in the rule row, which the job reads, and in FINE_PER_DAY, which the baseline
reads), so each run writes N lines of 30; account_lines is emptied between runs so
every run does the same work.
"""

from sqlalchemy import text

from bench import jobbench
from bench.data import seed_loans

NAME = "fines"
JOB = "worker.fines:fines_accrual"
FINES = {"FINE_PER_DAY": "10", "FINE_GRACE_DAYS": "0", "MAX_FINE": "1000"}


def lines(conn) -> tuple[int, int]:
    found = conn.execute(text("SELECT count(*), coalesce(sum(amount), 0) FROM account_lines "
                              "WHERE kind = 'overdue'")).one()
    conn.execute(text("TRUNCATE account_lines"))  # the next run starts from the same state
    return int(found[0]), int(found[1])


def seed(engine, n: int, books: int) -> None:
    seed_loans(engine, n, books, overdue_every=1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE circulation_rules SET fine_per_day = :per_day, fine_grace_days = :grace, "
                          "max_fine = :cap WHERE patron_category = '*' AND item_type = '*'"),
                     {"per_day": int(FINES["FINE_PER_DAY"]), "grace": int(FINES["FINE_GRACE_DAYS"]),
                      "cap": int(FINES["MAX_FINE"])})


def run(ctx):
    return jobbench.run(ctx, jobbench.JobBench(
        name=NAME, bench="fines-accrual, {n} overdue loans",
        rss_bench="fines-accrual peak RSS, {a} → {b} overdue loans", job=JOB,
        baseline="bench.baselines.fines_sql", baseline_label="one INSERT … ON CONFLICT",
        seed=lambda engine, n: seed(engine, n, ctx.sizes.books),
        written=lines, describe=lambda w: f"{w[0]:,} lines, {w[1]:,} minor units",
        env=FINES, per_loan=True))
