"""Scenarios shared by the borrow-check and override tests: each puts the member in one
refusal and returns the body that names what they would borrow."""

from datetime import timedelta
from itertools import count
from types import SimpleNamespace

from sqlalchemy import update

from api.clock import utcnow
from api.extensions import db
from api.models import CirculationRule, User


def set_rule(app, **values) -> None:
    """Change the `*`/`*` rule (e.g. max_loans=1) for this test."""
    with app.app_context():
        db.session.execute(update(CirculationRule).where(
            CirculationRule.patron_category == "*", CirculationRule.item_type == "*").values(**values))
        db.session.commit()


def lend(t, user_id: int, **body) -> dict:
    response = t.client.post("/loans", json={"user_id": user_id, **body}, headers=t.admin.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ready_for_other(t, copies: int = 1) -> tuple[int, str]:
    """A book whose one item is on the hold shelf for `other`'s ready hold: (book, barcode)."""
    book = t.make_book(copies=copies)
    loans = [lend(t, lender.id, book_id=book) for lender in lenders(t, copies)]
    assert t.client.post("/holds", json={"book_id": book}, headers=t.other.headers).status_code == 201
    assert t.client.post(f"/loans/{loans[0]['id']}/return", headers=t.admin.headers).status_code == 200
    for loan in loans[1:]:  # the rest back on the shelf
        assert t.client.post(f"/loans/{loan['id']}/return", headers=t.admin.headers).status_code == 200
    return book, loans[0]["barcode"]


def lenders(t, n: int) -> list:
    """`n` accounts to lend copies of one book to (one copy each): the admin, then new members."""
    return [t.admin] + [t.quick_member(f"lender{next(t.counter)}") for _ in range(n - 1)]


def _loan_limit(t):
    set_rule(t.app, max_loans=1)
    lend(t, t.member.id, book_id=t.make_book(copies=1))
    return {"book_id": t.make_book(copies=1)}


def _has_overdue(t):
    now = utcnow()
    lend(t, t.member.id, book_id=t.make_book(copies=1), borrowed_at=(now - timedelta(days=20)).isoformat(),
         due_at=(now - timedelta(days=1)).isoformat())
    return {"book_id": t.make_book(copies=1)}


def _balance_limit(t):
    charged = t.client.post(f"/users/{t.member.id}/account/charges", json={"amount": 501, "note": "lost"},
                            headers=t.admin.headers)
    assert charged.status_code == 201
    return {"book_id": t.make_book(copies=1)}


def _patron_blocked(t):
    blocked = t.client.post(f"/users/{t.member.id}/blocks", json={"reason": "desk"}, headers=t.admin.headers)
    assert blocked.status_code == 201
    return {"book_id": t.make_book(copies=1)}


def _reserved_for_other(t):
    return {"barcode": ready_for_other(t)[1]}


def _no_copy_available(t):
    book = t.make_book(copies=1)
    lend(t, t.admin.id, book_id=book)
    return {"book_id": book}


def _already_borrowed(t):
    book = t.make_book(copies=2)
    lend(t, t.member.id, book_id=book)
    return {"book_id": book}


def _account_inactive(t):
    with t.app.app_context():
        db.session.execute(update(User).where(User.id == t.member.id).values(is_active=False))
        db.session.commit()
    return {"book_id": t.make_book(copies=1)}


def _item_unavailable(t):
    return {"barcode": lend(t, t.admin.id, book_id=t.make_book(copies=1))["barcode"]}


OVERRIDABLE_BORROW = {"loan_limit": _loan_limit, "has_overdue": _has_overdue, "balance_limit": _balance_limit,
                      "patron_blocked": _patron_blocked, "reserved_for_other": _reserved_for_other}
HARD_BORROW = {"no_copy_available": _no_copy_available, "already_borrowed": _already_borrowed,
               "account_inactive": _account_inactive, "item_unavailable": _item_unavailable}


def desk(app, client, admin, member, other_member, make_book, quick_member) -> SimpleNamespace:
    return SimpleNamespace(app=app, client=client, admin=admin, member=member, other=other_member,
                           make_book=make_book, quick_member=quick_member, counter=count(1))


def overrides(t, loan_id: int) -> list[dict]:
    """The data of every loan.override audit entry of the loan (all loans: None)."""
    query = "object_type=loan" + (f"&object_id={loan_id}" if loan_id is not None else "")
    entries = t.client.get(f"/admin/audit?{query}&per_page=100", headers=t.admin.headers).get_json()["items"]
    return [e["data"] | {"actor_id": e["actor_id"]} for e in entries if e["action"] == "loan.override"]
