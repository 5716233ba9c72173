"""A short type-ahead word that starts many catalog words stands for the first
PREFIX_WORDS of them in byte order (api.books.search.prefix_words); one that starts
fewer, or is longer than SHORT_PREFIX, is a plain prefix. The same on SQLite (FTS5
vocabulary) and PostgreSQL."""

import pytest

from api.books.search import PREFIX_WORDS, SHORT_PREFIX
from api.extensions import db
from api.models import Book

WORDS = [f"tp{i:02d}" for i in range(PREFIX_WORDS + 10)]  # more words starting "tp" than that
LONG = [f"potter{i:02d}" for i in range(PREFIX_WORDS + 10)]  # as many, behind a longer prefix


@pytest.fixture
def typed(app):
    with app.app_context():
        books = [Book(title=f"Volume {w}", author="Ann Writer", isbn=f"979{i:010d}", published_year=2000,
                      copies_total=1, copies_available=1) for i, w in enumerate(WORDS, 1)]
        books.append(Book(title="Tp", author="Ann Writer", isbn=f"979{len(WORDS) + 1:010d}",
                          published_year=2000, copies_total=1, copies_available=1))
        books += [Book(title=f"Harry {w}", author="Jo Writer", isbn=f"979{i:010d}", published_year=2001,
                       copies_total=1, copies_available=1) for i, w in enumerate(LONG, len(WORDS) + 2)]
        db.session.add_all(books)
        db.session.commit()


def titles(client, q, **args):
    body = client.get("/books", query_string={"q": q, "per_page": 100, **args}).get_json()
    return [b["title"] for b in body["items"]], body["meta"]


def test_a_prefix_of_many_words_stands_for_the_first_of_them(client, typed):
    found, meta = titles(client, "tp")
    # "tp" itself, then tp00..tp48: PREFIX_WORDS words in byte order, every book of them.
    assert sorted(found) == sorted(["Tp"] + [f"Volume {w}" for w in WORDS[:PREFIX_WORDS - 1]])
    assert (meta["total"], meta["total_exact"], meta["fuzzy"]) == (PREFIX_WORDS, True, False)


def test_a_prefix_of_few_words_matches_all_of_them(client, typed):
    found, meta = titles(client, "tp1")
    assert sorted(found) == [f"Volume tp1{i}" for i in range(10)] and meta["total"] == 10
    found, _ = titles(client, "volume tp1")  # the last word of several
    assert len(found) == 10
    found, _ = titles(client, WORDS[-1])
    assert found == [f"Volume {WORDS[-1]}"]  # beyond the first PREFIX_WORDS, typing on finds it


def test_the_expanded_prefix_obeys_filters_and_other_words(client, typed):
    assert titles(client, "volume tp", available="false")[0] == []
    found, meta = titles(client, "writer tp", sort="title")
    assert found == sorted(found) and meta["total"] == PREFIX_WORDS


def test_a_longer_prefix_is_never_capped(client, typed):
    prefix = LONG[0][:SHORT_PREFIX + 1]  # "pot": starts 30 catalog words
    found, meta = titles(client, f"harry {prefix}")
    assert sorted(found) == sorted(f"Harry {w}" for w in LONG) and meta["total"] == len(LONG)
