"""The fines-accrual baseline: ONE raw INSERT ... SELECT ... ON CONFLICT DO UPDATE, no batching.

It prices every open overdue loan as the job does with every library day open (as
api.days.service counts them today) and the `*`/`*` rule from the environment:
LEAST(MAX_FINE, FINE_PER_DAY x days after the due day), nothing within FINE_GRACE_DAYS,
and writes the same one `overdue` line per loan.
`python -m bench.baselines.fines_sql DSN` prints JSON: seconds, rows, peak RSS.
"""

import json
import os
import sys
import time

import psycopg

from bench.jobproc import status_mb

SQL = """
INSERT INTO account_lines (user_id, kind, amount, loan_id, created_at)
SELECT l.user_id, 'overdue', LEAST(%(cap)s, %(per_day)s * d.days), l.id, now()
FROM loans l
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date - (l.due_at AT TIME ZONE 'UTC')::date AS days) d
WHERE l.returned_at IS NULL AND l.due_at < now() AND d.days > %(grace)s
ON CONFLICT (loan_id) WHERE kind = 'overdue'
DO UPDATE SET amount = excluded.amount WHERE account_lines.amount <> excluded.amount
RETURNING id
"""


def main() -> None:
    params = {"per_day": int(os.environ.get("FINE_PER_DAY", 0)),
              "grace": int(os.environ.get("FINE_GRACE_DAYS", 0)),
              "cap": int(os.environ.get("MAX_FINE", 1000))}
    conn = psycopg.connect(sys.argv[1])
    started = time.perf_counter()
    with conn:  # commits, then closes
        rows = len(conn.execute(SQL, params).fetchall())
    elapsed = time.perf_counter() - started
    peak = status_mb("VmHWM")
    json.dump({"seconds": round(elapsed, 3), "rows": rows, "peak_rss_mb": round(peak, 1)}, sys.stdout)


if __name__ == "__main__":
    main()
