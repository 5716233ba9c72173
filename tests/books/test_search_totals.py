"""Totals that stay cheap (exact up to 10,000, then an estimate on PostgreSQL) and
deep pages (deferred join) that return exactly what OFFSET would."""

import math

import pytest
from sqlalchemy import text

from api.extensions import db

MANY = 10_150  # just above the exact-count limit


def bulk_books(app, n: int, *, title: str = "Common") -> None:
    """n books titled '<title> 00001'...; one SQL statement, like the bench."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            sql = ("INSERT INTO books (title, author, isbn, published_year, copies_total, copies_available, "
                   "created_at, updated_at) SELECT :t || ' ' || lpad(i::text, 5, '0'), 'Writer ' || (i % 7), "
                   "'979' || lpad(i::text, 10, '0'), 1900 + i % 100, 2, i % 3, now(), now() "
                   "FROM generate_series(1, :n) i")
        else:
            sql = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
                   "INSERT INTO books (title, author, isbn, published_year, copies_total, copies_available, "
                   "created_at, updated_at) SELECT :t || ' ' || printf('%05d', i), 'Writer ' || (i % 7), "
                   "printf('979%010d', i), 1900 + i % 100, 2, i % 3, datetime('now'), datetime('now') FROM s")
        db.session.execute(text(sql), {"n": n, "t": title})
        if db.engine.dialect.name == "postgresql":
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE books")
        else:
            db.session.commit()


@pytest.fixture
def many(app):
    bulk_books(app, MANY)


def meta(client, query: str) -> dict:
    response = client.get(f"/books?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["meta"]


def test_small_totals_are_exact(client, many):
    body = meta(client, "q=common 0001")  # prefix: 00010..00019
    assert body["total"] == 10 and body["total_exact"] is True


def test_large_totals_are_estimates_on_postgres_and_pages_follow(client, many, app):
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    for query, matches in (("", MANY), ("q=common", MANY), ("author=writer", MANY),
                           ("available=true&sort=-published_year", MANY - MANY // 3)):
        body = meta(client, query + "&per_page=50")
        if matches > 10_000 and postgres:  # the planner's estimate, never below the limit
            assert body["total_exact"] is False and body["total"] > 10_000
        else:  # SQLite counts a catalog this size exactly
            assert body["total_exact"] is True and body["total"] == matches
        assert body["pages"] == math.ceil(body["total"] / 50)


def test_deep_pages_match_offset_order(client, many):
    for query, key in (("sort=title", lambda b: (b["title"], b["id"])),
                       ("sort=-published_year", lambda b: (-b["published_year"], -b["id"])),
                       ("q=common&sort=-title", None)):
        page = client.get(f"/books?{query}&per_page=20&page=300").get_json()["items"]
        assert len(page) == 20
        if key is not None:
            assert page == sorted(page, key=key)
    titles = [b["title"] for b in client.get("/books?sort=title&per_page=20&page=300").get_json()["items"]]
    assert titles == [f"Common {i:05d}" for i in range(5981, 6001)]
    titles = [b["title"] for b in client.get("/books?q=common&sort=-title&per_page=20&page=300")
              .get_json()["items"]]
    assert titles == [f"Common {i:05d}" for i in range(MANY - 5980, MANY - 6000, -1)]


def test_relevance_deep_page_is_a_slice_of_the_whole_order(client, many):
    first = client.get("/books?q=common&per_page=100&page=60").get_json()["items"]
    again = client.get("/books?q=common&per_page=50&page=119").get_json()["items"]
    assert [b["id"] for b in first[:50]] == [b["id"] for b in again]


def test_deferred_join_runs_for_every_list_statement(app):
    """Each list's statement (options, subqueries, string ids) survives the deep-page form."""
    from sqlalchemy import select

    from api.audit.service import audit_stmt
    from api.circulation import holds, loans
    from api.models import Notification, TaskRun
    from api.pagination import page_stmt
    from api.users.service import user_list_query

    statements = [holds.holds_stmt(), holds.holds_stmt(status="waiting"), loans.loans_stmt(status="overdue"),
                  audit_stmt(object_type="loan"), user_list_query({"q": "x"}),
                  select(TaskRun).order_by(TaskRun.requested_at.desc(), TaskRun.id.desc()),
                  select(Notification).order_by(Notification.id.desc())]
    with app.app_context():
        for stmt in statements:
            assert db.session.scalars(page_stmt(stmt, 60, 20)).all() == []


def test_a_short_page_is_its_own_total_without_a_count(client, many, count_sql):
    """The last page (fewer rows than per_page) tells the total: no count statement;
    a full page still counts, and a page past the end counts to say how many there are."""
    sent = count_sql()
    for query, total, counted in (("q=common 0001", 10, False), ("q=common 0001&per_page=10", 10, True),
                                  ("q=common 0001&per_page=3&page=4", 10, False),
                                  ("q=common 0001&per_page=5&page=3", 10, True),
                                  ("q=no such words", 0, False)):
        sent.clear()
        body = meta(client, query)
        assert (body["total"], body["total_exact"]) == (total, True), query
        assert any("count(" in s for s in sent) is counted, (query, sent)


@pytest.mark.postgres
def test_an_estimate_is_asked_once_per_statement_and_values(client, many, redis_client, count_sql):
    """The planner's estimate is reused for the same filter and values (it moves only
    with the statistics); other values ask again."""
    sent = count_sql()
    explains = []
    for query in ("author=writer", "author=writer", "q=common"):
        sent.clear()
        redis_client.flushdb()  # a cache miss each time
        body = meta(client, query)
        assert body["total_exact"] is False and body["total"] > 10_000, query
        explains.append(sum(s.startswith("EXPLAIN") for s in sent))
    assert explains == [1, 0, 1]


@pytest.mark.postgres
def test_a_large_filter_is_not_counted_again_for_a_while(client, many, redis_client, count_sql):
    """Once a bounded count has found more than 10,000 matches, the same filter and
    values take the estimate without counting (a walk through a large list pays its
    count once a minute); a filter with other values counts."""
    sent = count_sql()
    counts = []
    for query in ("author=writer", "author=writer&page=2", "author=writer&after=", "author=writer 1"):
        sent.clear()
        redis_client.flushdb()  # a cache miss each time
        body = meta(client, query)
        assert body["total_exact"] is (query == "author=writer 1"), (query, body)
        counts.append(sum("count(" in s for s in sent))
    assert counts == [1, 0, 0, 1]
