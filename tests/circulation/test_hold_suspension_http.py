"""PATCH /holds/<id> {suspended_until}: who may, what is refused, what is audited."""

from datetime import timedelta

from api.days.service import library_today
from api.extensions import db
from api.models import AuditEntry
from tests.helpers import is_problem


def queue(client, owner, waiters, make_book):
    """A one-copy book lent to `owner`, each waiter holding it: (loan, holds)."""
    book_id = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book_id}, headers=owner.headers).get_json()
    holds = [client.post("/holds", json={"book_id": book_id}, headers=w.headers).get_json()
             for w in waiters]
    return loan, holds


def patch(client, account, hold_id, body):
    return client.patch(f"/holds/{hold_id}", json=body, headers=account.headers)


def day(app, days: int) -> str:
    with app.app_context():
        return (library_today() + timedelta(days=days)).isoformat()


def audit(app):
    with app.app_context():
        return [(e.action, e.actor_id, e.object_id, e.data) for e in
                db.session.query(AuditEntry).filter_by(object_type="hold").order_by(AuditEntry.id)]


def test_owner_suspends_and_resumes_and_others_get_404(app, client, member, other_member, make_member,
                                                       make_book, invariant):
    loan, (mine, theirs) = queue(client, make_member("lender"), [member, other_member], make_book)
    later = day(app, 7)
    response = patch(client, member, mine["id"], {"suspended_until": later})
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()[k] for k in ("status", "position", "suspended_until")} == {
        "status": "waiting", "position": 1, "suspended_until": later}
    assert client.get(f"/holds/{mine['id']}", headers=member.headers).get_json() == response.get_json()
    assert is_problem(patch(client, other_member, mine["id"], {"suspended_until": None}), 404)
    assert is_problem(patch(client, member, 2**40, {"suspended_until": None}), 404)
    resumed = patch(client, member, mine["id"], {"suspended_until": None}).get_json()
    assert (resumed["suspended_until"], resumed["position"]) == (None, 1)
    assert audit(app) == []  # a member's own change is not a staff action
    invariant(loan["book_id"])


def test_admin_may_suspend_any_hold_and_it_is_audited(app, client, admin, member, make_member, make_book):
    _, (held,) = queue(client, make_member("lender"), [member], make_book)
    later = day(app, 3)
    assert patch(client, admin, held["id"], {"suspended_until": later}).status_code == 200
    assert patch(client, admin, held["id"], {"suspended_until": None}).status_code == 200
    user_book = {"user_id": member.id, "book_id": held["book_id"]}
    assert audit(app) == [
        ("hold.suspended", admin.id, str(held["id"]), {**user_book, "from": None, "to": later}),
        ("hold.resumed", admin.id, str(held["id"]), {**user_book, "from": later, "to": None})]


def test_bad_bodies_are_400_and_holds_not_waiting_409(app, client, member, other_member, make_member,
                                                      make_book):
    lender = make_member("lender")
    loan, (first, second) = queue(client, lender, [member, other_member], make_book)
    for body in ({}, {"suspended_until": day(app, -1)}, {"suspended_until": "soon"},
                 {"suspended_until": day(app, 2) + "T10:00:00Z"}, {"suspended_until": 3},
                 {"suspended_until": None, "user_id": 1}):
        assert is_problem(patch(client, member, first["id"], body), 400), body
    assert client.post(f"/loans/{loan['id']}/return", headers=lender.headers).status_code == 200
    refused = patch(client, member, first["id"], {"suspended_until": day(app, 2)})
    assert is_problem(refused, 409) and refused.get_json()["code"] == "hold_not_waiting"
    assert client.delete(f"/holds/{second['id']}", headers=other_member.headers).status_code == 204
    refused = patch(client, other_member, second["id"], {"suspended_until": None})
    assert is_problem(refused, 409) and refused.get_json()["code"] == "hold_not_waiting"


def test_resume_with_a_free_copy_makes_the_hold_ready(app, client, member, make_member, make_book,
                                                      outbox, invariant):
    lender = make_member("lender")
    loan, (held,) = queue(client, lender, [member], make_book)
    patch(client, member, held["id"], {"suspended_until": day(app, 10)})
    assert client.post(f"/loans/{loan['id']}/return", headers=lender.headers).status_code == 200
    assert client.get(f"/books/{loan['book_id']}").get_json()["copies_available"] == 1
    invariant(loan["book_id"])
    ready = patch(client, member, held["id"], {"suspended_until": None}).get_json()
    assert (ready["status"], ready["position"], ready["suspended_until"]) == ("ready", None, None)
    assert ready["expires_at"]
    assert client.get(f"/books/{loan['book_id']}").get_json()["copies_available"] == 0
    assert [r.hold_id for r in outbox()] == [held["id"]]
    invariant(loan["book_id"])


def test_patch_is_in_the_openapi_spec(client):
    spec = client.get("/apispec.json").get_json()
    operation = spec["paths"]["/holds/{hold_id}"]["patch"]
    assert {"200", "400", "404", "409"} <= set(operation["responses"])
    hold_out = spec["components"]["schemas"]["HoldOut"]["properties"]
    assert {"position", "suspended_until"} <= set(hold_out)
    assert "hold_not_waiting" in str(spec["components"])
