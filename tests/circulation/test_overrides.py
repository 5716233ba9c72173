"""Admin `override_reason` on POST /loans and POST /loans/<id>/renew: it lifts exactly
the codes SPEC names, each override is in the audit log with its reason, and every
other refusal stays a 409 with its code."""

from datetime import timedelta

import pytest

from tests.circulation.overrides_helpers import (
    HARD_BORROW,
    OVERRIDABLE_BORROW,
    desk,
    lend,
    overrides,
    set_rule,
)
from tests.helpers import is_problem

REASON = "Member's card was renewed at the desk"


@pytest.fixture
def t(app, client, admin, member, other_member, make_book, quick_member):
    return desk(app, client, admin, member, other_member, make_book, quick_member)


def _borrow(t, body, reason=REASON):
    extra = {"override_reason": reason} if reason is not None else {}
    return t.client.post("/loans", json={"user_id": t.member.id, **body, **extra}, headers=t.admin.headers)


@pytest.mark.parametrize("code", sorted(OVERRIDABLE_BORROW))
def test_an_admin_overrides_each_overridable_borrow_refusal(t, invariant, code):
    body = OVERRIDABLE_BORROW[code](t)
    refused = _borrow(t, body, reason=None)
    assert is_problem(refused, 409) and refused.get_json()["code"] == code
    assert overrides(t, None) == []

    lent = _borrow(t, body)
    assert lent.status_code == 201, lent.get_json()
    loan = lent.get_json()
    assert loan["user_id"] == t.member.id
    [entry] = overrides(t, loan["id"])
    assert (entry["on"], entry["reason"], entry["codes"], entry["actor_id"]) == ("borrow", REASON, [code],
                                                                                  t.admin.id)
    invariant(loan["book_id"])


@pytest.mark.parametrize("code", sorted(HARD_BORROW))
def test_a_reason_never_lifts_the_other_borrow_refusals(t, code):
    refused = _borrow(t, HARD_BORROW[code](t))
    assert is_problem(refused, 409) and refused.get_json()["code"] == code
    assert overrides(t, None) == []


def test_with_several_blockers_the_409_names_one_no_override_lifts(t, make_book):
    OVERRIDABLE_BORROW["has_overdue"](t)
    OVERRIDABLE_BORROW["patron_blocked"](t)
    taken = HARD_BORROW["no_copy_available"](t)
    for reason in (None, REASON):
        refused = _borrow(t, taken, reason=reason)
        assert is_problem(refused, 409) and refused.get_json()["code"] == "no_copy_available"
    # On a free book every blocker is overridable: one entry names them all.
    lent = _borrow(t, {"book_id": make_book(copies=1)})
    assert lent.status_code == 201, lent.get_json()
    assert overrides(t, lent.get_json()["id"])[0]["codes"] == ["has_overdue", "patron_blocked"]


def test_members_cannot_send_a_reason_and_it_must_not_be_blank(t, make_book):
    book = make_book(copies=1)
    mine = t.client.post("/loans", json={"book_id": book, "override_reason": REASON},
                         headers=t.member.headers)
    assert is_problem(mine, 400) and "override_reason" in mine.get_json()["errors"]
    for blank in ("", "   "):
        assert is_problem(_borrow(t, {"book_id": book}, reason=blank), 400)
    loan = t.client.post("/loans", json={"book_id": book}, headers=t.member.headers).get_json()
    renew = t.client.post(f"/loans/{loan['id']}/renew", json={"override_reason": REASON},
                          headers=t.member.headers)
    assert is_problem(renew, 400) and "override_reason" in renew.get_json()["errors"]
    assert is_problem(t.client.post(f"/loans/{loan['id']}/renew", json={"override_reason": ""},
                                    headers=t.admin.headers), 400)
    assert overrides(t, None) == []


def test_a_reason_with_nothing_to_override_records_no_override(t, make_book):
    loan = _borrow(t, {"book_id": make_book(copies=1)}).get_json()
    renewed = t.client.post(f"/loans/{loan['id']}/renew", json={"override_reason": REASON},
                            headers=t.admin.headers)
    assert renewed.status_code == 200 and renewed.get_json()["renewals"] == 1
    assert overrides(t, loan["id"]) == []


def _renew_refusal(t, code):
    """A member's loan that renewing refuses with `code`."""
    book = t.make_book(copies=1)
    loan = lend(t, t.member.id, book_id=book)
    if code == "renewal_limit":
        set_rule(t.app, max_renewals=0)
    elif code == "reserved_for_other":
        assert t.client.post("/holds", json={"book_id": book}, headers=t.other.headers).status_code == 201
    else:
        OVERRIDABLE_BORROW[code](t)
    return loan


@pytest.mark.parametrize("code", ["renewal_limit", "reserved_for_other", "balance_limit", "patron_blocked"])
def test_an_admin_overrides_each_overridable_renew_refusal(t, invariant, code):
    loan = _renew_refusal(t, code)
    url = f"/loans/{loan['id']}/renew"
    refused = t.client.post(url, headers=t.member.headers)
    assert is_problem(refused, 409) and refused.get_json()["code"] == code
    renewed = t.client.post(url, json={"override_reason": REASON}, headers=t.admin.headers)
    assert renewed.status_code == 200, renewed.get_json()
    assert renewed.get_json()["renewals"] == 1 and renewed.get_json()["due_at"] > loan["due_at"]
    [entry] = overrides(t, loan["id"])
    assert (entry["on"], entry["reason"], entry["codes"], entry["actor_id"]) == ("renew", REASON, [code],
                                                                                 t.admin.id)
    invariant(loan["book_id"])


def test_a_reason_never_renews_a_returned_or_overdue_loan(t, travel):
    returned = lend(t, t.member.id, book_id=t.make_book(copies=1))
    t.client.post(f"/loans/{returned['id']}/return", headers=t.member.headers)
    late = lend(t, t.member.id, book_id=t.make_book(copies=1))
    travel(timedelta(days=40), t.admin, t.member)
    for loan, code in ((returned, "loan_returned"), (late, "loan_overdue")):
        refused = t.client.post(f"/loans/{loan['id']}/renew", json={"override_reason": REASON},
                                headers=t.admin.headers)
        assert is_problem(refused, 409) and refused.get_json()["code"] == code
    assert overrides(t, None) == []


def test_an_admin_never_renews_for_a_deactivated_member(t):
    loan = lend(t, t.member.id, book_id=t.make_book(copies=1))
    assert t.client.patch(f"/users/{t.member.id}", json={"is_active": False},
                          headers=t.admin.headers).status_code == 200
    for body in ({}, {"override_reason": REASON}):
        refused = t.client.post(f"/loans/{loan['id']}/renew", json=body, headers=t.admin.headers)
        assert is_problem(refused, 409) and refused.get_json()["code"] == "account_inactive"
    assert overrides(t, None) == []
    assert t.client.get(f"/loans/{loan['id']}", headers=t.admin.headers).get_json()["renewals"] == 0


def test_override_reason_is_documented(client):
    schemas = client.get("/apispec.json").get_json()["components"]["schemas"]
    assert "override_reason" in schemas["LoanAdminIn"]["properties"]
    assert "override_reason" not in schemas["LoanIn"]["properties"]
    assert "override_reason" in schemas["RenewAdminIn"]["properties"]
    renew = client.get("/apispec.json").get_json()["paths"]["/loans/{loan_id}/renew"]["post"]
    body = renew["requestBody"]["content"]["application/json"]["schema"]
    assert body["anyOf"][0]["$ref"].endswith("/RenewAdminIn")  # or a non-object, ignored as v1 did
