"""Circulation rules: loans and holds, as plain functions over a SQLAlchemy session.

Each function documents whether it commits. Locks are always taken in the same
order -- users row, then loans row, then books row, then holds rows -- so two
circulation transactions can wait for each other but never deadlock:

- borrow locks the member's users row (one member's borrows serialize, so the
  loan limit holds) and takes a copy with a conditional UPDATE of books;
- every transaction that hands a copy to the hold queue (return, cancel or expiry
  of a ready hold, promote_holds) holds the books row FOR UPDATE while it picks
  the next waiting hold, so a copy goes to exactly one hold, in queue order;
- state changes of loans and holds are conditional UPDATEs (`WHERE returned_at IS
  NULL`, `WHERE status = 'ready'`), so of two racing requests only one wins and
  the loser gets a 409 (or, in background jobs, skips the row).

On SQLite (the embedded default) there are no row locks; lock_user/lock_book take
the database's single write lock instead, so the same checks hold there too.

Invariant after every commit, for every book:
    copies_available + open loans + ready holds == copies_total
and a copy is never on the shelf while a hold on that book is waiting.
"""
