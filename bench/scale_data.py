"""bench.scale's data, built in the database: N books (titles of three words from a
3,000-word made-up vocabulary plus a few real ones, authors "Author <i mod N/20>"),
N/10 members, N loans (5% open, most of those overdue), one admin."""

import random
from pathlib import Path

import psycopg

ADMIN_PASSWORD = "bench admin password"
REAL_WORDS = ["garden", "river", "harry", "potter", "winter", "shadow", "stone", "letter"]


def vocabulary(n: int = 3000) -> list[str]:
    rng = random.Random(12)
    onsets = [*"bcdfghjklmnprstvw", "br", "cr", "dr", "gr", "pr", "st", "tr", "ch", "sh", "th"]
    vowels = [*"aeiou", "ai", "ea", "ou"]
    codas = ["", "n", "r", "s", "t", "l", "m", "nd", "rt", "st"]
    words = set(REAL_WORDS)
    while len(words) < n:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(2))
        if len(word) >= 5:
            words.add(word)
    return sorted(words)


def seed_postgres(services, books: int, members: int, loans: int) -> None:
    from api.passwords import hash_password

    with services.app().app_context():
        admin_hash = hash_password(ADMIN_PASSWORD)
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.42)")
        conn.execute("INSERT INTO users (username, email, password_hash, role, is_active, token_version, "
                     "created_at) VALUES ('admin', 'admin@example.org', %s, 'admin', true, 0, now())",
                     (admin_hash,))
        conn.execute("INSERT INTO users (username, email, password_hash, role, is_active, token_version, "
                     "created_at) SELECT 'member' || i, 'member' || i || '@example.org', 'x', 'user', "
                     "true, 0, "
                     "now() - i * interval '1 minute' FROM generate_series(1, %s) i", (members,))
        words = vocabulary()
        conn.execute(
            "INSERT INTO books (title, author, isbn, published_year, copies_total, copies_available, "
            "created_at, updated_at) "
            "SELECT initcap(v[1 + floor(random() * n)::int] || ' ' || v[1 + floor(random() * n)::int] || ' ' "
            "|| v[1 + floor(random() * n)::int]), 'Author ' || (i %% %(authors)s), "
            "'979' || lpad(i::text, 10, '0'), 1900 + i %% 125, 3, CASE WHEN i %% 50 = 0 THEN 0 ELSE 2 END, "
            "now() - i * interval '1 second', now() "
            "FROM generate_series(1, %(books)s) i, (SELECT %(words)s::text[] v, %(n)s n) w",
            {"books": books, "authors": max(books // 20, 1), "words": words, "n": len(words)})
        conn.execute(
            "INSERT INTO loans (user_id, book_id, borrowed_at, due_at, returned_at, renewals) "
            "SELECT u0 + i %% %(members)s, b0 + (i::bigint * 7) %% %(books)s, t, t + interval '14 days', "
            "CASE WHEN i %% 20 = 0 THEN NULL ELSE t + interval '7 days' END, 0 FROM ("
            " SELECT i, now() - (i %% 730) * interval '1 day' - (i %% 86400) * interval '1 second' t "
            " FROM generate_series(0, %(loans)s - 1) i) g, "
            "(SELECT (SELECT min(id) FROM users WHERE role = 'user') u0, (SELECT min(id) FROM books) b0) m",
            {"members": members, "books": books, "loans": loans})
        conn.execute("VACUUM ANALYZE")


def seed_sqlite(path: Path, books: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TEMP TABLE v (i INTEGER PRIMARY KEY, w TEXT)")
    words = vocabulary()
    conn.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(words)))
    rng = random.Random(42)
    picks = [[rng.randrange(len(words)) for _ in range(3)] for _ in range(books)]
    conn.executemany(
        "INSERT INTO books (title, author, isbn, published_year, copies_total, copies_available, created_at, "
        "updated_at) VALUES (?, ?, printf('979%010d', ?), 1900 + ? % 125, 3, 2, datetime('now'), "
        "datetime('now'))",
        ((" ".join(words[k].title() for k in p), f"Author {i % max(books // 20, 1)}", i, i)
         for i, p in enumerate(picks, 1)))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
