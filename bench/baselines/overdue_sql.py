"""The overdue-check baseline: ONE raw INSERT ... SELECT ... RETURNING, no batching, no ORM.

It makes the same selection the job makes (open loans past due, one notice per
loan per day, skipping notices already recorded) and writes the same outbox rows
with the subject and body built in SQL from the template's text.
`python -m bench.baselines.overdue_sql DSN` prints JSON: seconds, rows, peak RSS.
"""

import json
import sys
import time

import psycopg

from bench.jobproc import status_mb

SQL = """
INSERT INTO notifications (kind, dedupe_key, recipient, subject, body, user_id, loan_id,
                           state, attempts, created_at, next_attempt_at)
SELECT 'overdue',
       'overdue:loan:' || l.id || ':' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
       u.email,
       'Overdue: ' || b.title,
       'Hello ' || u.username || E',\\n\\n"' || b.title || '" was due on '
         || to_char(l.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || E' UTC and is now overdue.\\n'
         || E'Please return it as soon as you can. While a loan is overdue you cannot borrow\\n'
         || E'or renew books.\\n\\nThe Library\\n',
       l.user_id, l.id, 'pending', 0, now(), now()
FROM loans l
JOIN users u ON u.id = l.user_id
JOIN books b ON b.id = l.book_id
WHERE l.returned_at IS NULL AND l.due_at < now()
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""


def main() -> None:
    conn = psycopg.connect(sys.argv[1])
    started = time.perf_counter()
    with conn:  # commits, then closes
        rows = len(conn.execute(SQL).fetchall())
    elapsed = time.perf_counter() - started
    peak = status_mb("VmHWM")
    json.dump({"seconds": round(elapsed, 3), "rows": rows, "peak_rss_mb": round(peak, 1)}, sys.stdout)


if __name__ == "__main__":
    main()
