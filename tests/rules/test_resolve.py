"""effective_rule and loan_limits: per-value inheritance (C,T) -> (C,*) -> (*,T) -> (*,*)."""

import pytest
from sqlalchemy import event, func, select

from api.extensions import db
from api.models import CirculationRule
from api.rules.resolve import RULE_VALUES, effective_rule, loan_limits, seed_values


def add(category, item_type, **values) -> int:
    rule = CirculationRule(patron_category=category, item_type=item_type, **values)
    db.session.add(rule)
    db.session.commit()
    return rule.id


def default_id() -> int:
    return db.session.scalar(select(CirculationRule.id).where(CirculationRule.patron_category == "*",
                                                              CirculationRule.item_type == "*"))


@pytest.fixture
def rules(app_ctx):
    return {
        "*/*": default_id(),
        "*/dvd": add("*", "dvd", loan_days=7, hold_pickup_days=2, max_loans=3),
        "child/*": add("child", "*", loan_days=10, max_loans=2, max_balance=0),
        "child/dvd": add("child", "dvd", max_renewals=0),
    }


def test_each_value_from_the_first_level_that_sets_it(rules, app):
    rule = effective_rule(db.session, patron_category="child", item_type="dvd")
    assert rule.max_renewals == 0 and rule.sources["max_renewals"] == rules["child/dvd"]   # (C,T)
    assert rule.loan_days == 10 and rule.sources["loan_days"] == rules["child/*"]          # (C,*) over (*,T)
    assert rule.max_balance == 0 and rule.sources["max_balance"] == rules["child/*"]
    assert rule.hold_pickup_days == 2 and rule.sources["hold_pickup_days"] == rules["*/dvd"]  # (*,T)
    assert rule.max_fine == seed_values()["max_fine"] and rule.sources["max_fine"] == rules["*/*"]  # (*,*)
    assert set(rule.sources) == set(RULE_VALUES)


def test_other_pairs_see_only_their_rows(rules, app):
    adult_dvd = effective_rule(db.session, patron_category="adult", item_type="dvd")
    assert (adult_dvd.loan_days, adult_dvd.sources["loan_days"]) == (7, rules["*/dvd"])
    assert adult_dvd.max_renewals == app.config["MAX_RENEWALS"]
    child_book = effective_rule(db.session, patron_category="child", item_type="book")
    assert (child_book.loan_days, child_book.max_loans) == (10, 2)
    assert child_book.hold_pickup_days == app.config["HOLD_PICKUP_DAYS"]
    adult_book = effective_rule(db.session, patron_category="adult", item_type="book")
    assert set(adult_book.sources.values()) == {rules["*/*"]}
    assert adult_book.loan_days == app.config["LOAN_PERIOD_DAYS"]
    assert adult_book.max_loans == app.config["MAX_ACTIVE_LOANS"]


def limits(category, item_type):
    found = loan_limits(db.session, patron_category=category, item_type=item_type)
    return found.overall, found.of_type


def test_type_loan_limit_only_from_rows_naming_the_type(rules, app):
    # (child,dvd) leaves max_loans unset, so (*,dvd) answers; (child,*) never does.
    assert limits("child", "dvd") == (2, 3)
    assert limits("child", "book") == (2, None)
    db.session.get(CirculationRule, rules["child/dvd"]).max_loans = 1
    db.session.commit()
    assert limits("child", "dvd") == (2, 1)
    assert limits("adult", "dvd") == (app.config["MAX_ACTIVE_LOANS"], 3)


def test_the_overall_limit_only_from_rows_for_any_type(rules, app):
    # (*,dvd) sets max_loans 3, which wins the per-value resolution for (adult, dvd);
    # the member's limit on all open loans is still (*,*)'s (SPEC "Circulation rules").
    assert effective_rule(db.session, patron_category="adult", item_type="dvd").max_loans == 3
    assert limits("adult", "dvd")[0] == app.config["MAX_ACTIVE_LOANS"]
    assert limits("adult", "*") == (app.config["MAX_ACTIVE_LOANS"], None)
    assert limits("child", "*") == (2, None)


def test_a_change_applies_to_the_next_call(rules):
    assert effective_rule(db.session, patron_category="child", item_type="dvd").loan_days == 10
    db.session.get(CirculationRule, rules["child/*"]).loan_days = None
    db.session.commit()
    rule = effective_rule(db.session, patron_category="child", item_type="dvd")
    assert (rule.loan_days, rule.sources["loan_days"]) == (7, rules["*/dvd"])


def test_one_query_per_resolution(rules):
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        effective_rule(db.session, patron_category="child", item_type="dvd")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "circulation_rules" in statements[0]


def test_create_all_seeds_the_default_row_from_the_settings(empty_database_url, make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url, LOAN_PERIOD_DAYS=21, MAX_ACTIVE_LOANS=7)
    with app.app_context():
        db.create_all()
        try:
            rows = db.session.scalars(select(CirculationRule)).all()
            assert [(r.patron_category, r.item_type, r.loan_days, r.max_loans) for r in rows] == [
                ("*", "*", 21, 7)]
            assert rows[0].values() == seed_values()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_lookups_never_write(app_ctx, app):
    writes = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        first = effective_rule(db.session, patron_category="adult", item_type="book")
        second = effective_rule(db.session, patron_category="x", item_type="y")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert writes == []
    assert db.session.scalar(select(func.count()).select_from(CirculationRule)) == 1
    assert first == second
    assert first.loan_days == first.renewal_days == app.config["LOAN_PERIOD_DAYS"]
    assert first.max_loans == app.config["MAX_ACTIVE_LOANS"]


def test_borrow_and_return_write_no_rule(app, client, member, make_book):
    rule_writes = []

    def count(_conn, _cursor, statement, *_args):
        if "circulation_rules" in statement and not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            rule_writes.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    try:
        loan = client.post("/loans", json={"book_id": make_book(copies=1)}, headers=member.headers).get_json()
        returned = client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", count)
    assert returned.status_code == 200
    assert rule_writes == []
