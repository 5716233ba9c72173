"""Circulation rules: loans and holds, as plain functions over a SQLAlchemy session.

Each function documents whether it commits. Locks are always taken in the same
order -- users row, then loans row, then books row, then holds and items rows --
so two circulation transactions can wait for each other but never deadlock:

- a copy is an item (api.models.Item); its status changes only under its book's
  row lock, through api.circulation.items, whose recount keeps copies_total /
  copies_available equal to what the items say in the same transaction;
- borrow locks the member's users row (one member's borrows serialize, so the
  loan limit holds) and takes a copy with a conditional UPDATE of books (by book)
  or of the scanned item (by barcode);
- every transaction that hands a copy to the hold queue (return, cancel or expiry
  of a ready hold, promote_holds) holds the books row FOR UPDATE while it picks
  the next waiting hold, so a copy goes to exactly one hold, in queue order;
- state changes of loans and holds are conditional UPDATEs (`WHERE returned_at IS
  NULL`, `WHERE status = 'ready'`), so of two racing requests only one wins and
  the loser gets a 409 (or, in background jobs, skips the row).

On SQLite (the embedded default) there are no row locks; lock_user/lock_book take
the database's single write lock instead, so the same checks hold there too.

Invariants after every commit, for every book:
    copies_available + open loans + ready holds + damaged items == copies_total,
the counts equal the items' statuses, every open loan's item is on_loan and every
ready hold's item on_hold_shelf, and a copy is never on the shelf while a hold on
that book is waiting and not suspended (suspended_until NULL: api.circulation.suspension
clears it on resuming) (tests/invariants/checks.py checks them all in SQL).

Rule values (loan days, renewals, loan limits, pickup days) come only from
api.rules.resolve for the member's category and the item's type; computed due
dates and pickup deadlines go through api.days.service.next_open.
"""
