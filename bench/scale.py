"""`python -m bench.scale [--books N]`: catalog search and lists at scale (issue 12).

Builds N books, N loans and N/10 members with SQL (generate_series) in a throw-away
`bench` database, VACUUM ANALYZE, then times each request of the issue's table
through gunicorn (-w 2, production config), sequentially, the Redis cache flushed
before every request, median of --rounds; interleaved with the same request's
hand-written SQL served by a bare app (bench/baselines/scale_sql.py) in the same run.
Then the same search requests on SQLite (FTS5) at --sqlite-books. Writes the
"Scale" section of bench/RESULTS.md (or --output).
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

import psycopg

from bench import services as bench_services
from bench.harness import Server, cold_cache, export_tree, machine
from bench.scale_data import ADMIN_PASSWORD, seed_postgres, seed_sqlite
from bench.scale_report import compare_table, section, write_section
from bench.services import PG_ADMIN, ROOT, WORKDIR, Services

# Its own database, one per checkout (bench_<checkout>_scale), so neither a `make bench`
# nor a bench.scale in another checkout on this PostgreSQL drops this run's data.
DATABASE = bench_services.BENCH_DB + "_scale"

# (label, app path, baseline path, needs the admin token)
PG_REQUESTS = [
    ("`GET /books?q=<word>`", "/books?q=garden", "/q/search?tsq=garden:*&last=garden", False),
    ("`GET /books?q=Author 12` (many hits)", "/books?q=Author%2012",
     "/q/search?tsq=author%20%26%2012:*&last=12", False),
    ("`GET /books` first page", "/books", "/q/first", False),
    ("`GET /books?available=true&sort=-published_year`", "/books?available=true&sort=-published_year",
     "/q/available", False),
    ("`GET /books?page=5000`", "/books?page=5000", "/q/deep", False),
    ("admin `GET /loans` first page", "/loans", "/q/loans?caller=admin", True),
    ("admin `GET /loans?status=overdue`", "/loans?status=overdue", "/q/overdue?caller=admin", True),
    ("`GET /books?q=gardn` (typo)", "/books?q=gardn", "/q/typo?word=gardn&tsq=gardn:*%20%7C%20garden", False),
    ("`GET /books?q=garden riv` (type-ahead)", "/books?q=garden%20riv",
     "/q/search?tsq=garden%20%26%20riv:*&last=riv", False),
]
SQLITE_REQUESTS = [
    ("SQLite `GET /books?q=<word>`", "/books?q=garden", "/q/search?fts=" + quote('"garden"*'), False),
    ("SQLite `GET /books?q=gardn` (typo)", "/books?q=gardn",
     "/q/search?fts=" + quote('"gardn"* OR "garden"'), False),
    ("SQLite `GET /books?q=garden riv` (type-ahead)", "/books?q=garden%20riv",
     "/q/search?fts=" + quote('"garden" AND "riv"*'), False),
]


def timed_get(server: Server, path: str, headers: dict) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{server.name} {path}: HTTP {response.status}")
    return elapsed


def login(server: Server) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    credentials = {"email": "admin@example.org", "password": ADMIN_PASSWORD}
    conn.request("POST", "/users/login", json.dumps(credentials), {"Content-Type": "application/json"})
    body = json.loads(conn.getresponse().read())
    return {"Authorization": f"Bearer {body['access_token']}"}


def by_cursor(server: Server) -> tuple:
    """The row for reading on from page 5,000 by cursor: the app's `after=` names the
    page's last book (encoded by api.cursors, as the app would); the baseline seeks to
    its (title, id) by hand."""
    from types import SimpleNamespace

    from sqlalchemy import select

    from api import cursors
    from api.models import Book

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", "/books?page=5000")
    last = json.loads(conn.getresponse().read())["items"][-1]
    keys = cursors.keyset(select(Book).order_by(Book.title, Book.id), "books.list_books")
    cursor = cursors.encode(keys, 0, SimpleNamespace(title=last["title"], id=last["id"]))
    return ("`GET /books?after=<cursor after page 5000>`", f"/books?after={cursor}",
            f"/q/after?title={quote(last['title'])}&id={last['id']}", False)


def measure(requests, app: Server, base: Server, redis, token: dict, rounds: int,
            before: Server | None = None) -> list[dict]:
    """Each request's p50 on the app and its SQL on the baseline (and, given `before`,
    on an earlier commit's app), interleaved: the order turns every round."""
    rows = []
    for label, app_path, base_path, admin in requests:
        headers = token if admin else {}
        sides = {"app": (app, app_path, headers), "sql": (base, base_path, {})}
        if before is not None:
            sides["before"] = (before, app_path, headers)
        for name, (server, path, sent) in list(sides.items()):  # warm-up: imports, plans, buffers
            cold_cache(redis)
            try:
                timed_get(server, path, sent)
            except RuntimeError as e:  # an earlier commit may not serve this row (the cursor)
                if name != "before":
                    raise
                print(f"  {label}: the earlier commit: {e}", flush=True)
                del sides[name]
        names = list(sides)
        times = {name: [] for name in names}
        cpu = dict.fromkeys(names, 0.0)
        for i in range(rounds):
            for name in names[i % len(names):] + names[:i % len(names)]:
                server, path, sent = sides[name]
                cold_cache(redis)  # every app request is a miss
                before_cpu = server.cpu_seconds()
                times[name].append(timed_get(server, path, sent))
                cpu[name] += server.cpu_seconds() - before_cpu
        p50 = {name: statistics.median(values) for name, values in times.items()}
        cpu_ms = {k: v * 1000 / rounds for k, v in cpu.items()}
        rows.append({"request": label, "app": p50["app"], "sql": p50["sql"], "before": p50.get("before"),
                     "raw": times, "cpu": cpu_ms})
        print(f"  {label}: app {p50['app']:.1f} ms, SQL {p50['sql']:.1f} ms"
              + (f", earlier commit {p50['before']:.1f} ms" if "before" in p50 else "")
              + f"; server CPU/request {cpu_ms['app']:.1f} vs {cpu_ms['sql']:.1f} ms", flush=True)
    return rows


def sqlite_rows(services: Services, books: int, rounds: int) -> list[dict]:
    path = WORKDIR / "scale.db"
    url = f"sqlite:///{path}"
    env = services.app_env(DATABASE_URL=url, BENCH_DSN=url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    seed_sqlite(path, books)
    print(f"seeded SQLite with {books:,} books in {time.monotonic() - t0:.0f}s", flush=True)
    app = Server("wsgi:app", env, "scale-app-sqlite").start()
    base = Server("bench.baselines.scale_sql:app", env, "scale-sql-sqlite").start()
    try:
        return measure(SQLITE_REQUESTS, app, base, services.redis(), {}, rounds)
    finally:
        app.stop()
        base.stop()


def _fresh_database(reuse: bool = False) -> str:
    url = bench_services.PG_BENCH.rsplit("/", 1)[0] + "/" + DATABASE
    if reuse:
        return url
    with psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    return url


def _seeded_books(services: Services) -> int:
    with psycopg.connect(services.dsn) as conn:
        return conn.execute("SELECT count(*) FROM books").fetchone()[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    p.add_argument("--books", type=int, default=1_000_000, help="books and loans (members: a tenth)")
    p.add_argument("--sqlite-books", type=int, default=100_000, help="0 skips the SQLite part")
    p.add_argument("--rounds", type=int, default=15,
                   help="timed requests per side and row (interleaved); the figure is their median")
    p.add_argument("--output", default="bench/RESULTS.md")
    p.add_argument("--reuse", action="store_true",
                   help="time against the bench_scale database of an earlier run with as many books")
    p.add_argument("--base", metavar="REV",
                   help="also serve commit REV (git archive) and time it in the same rounds: "
                        "prints this checkout vs REV, writes nothing to RESULTS.md, skips SQLite")
    args = p.parse_args(argv)
    started = time.monotonic()
    tree = export_tree(args.base) if args.base else None  # a bad REV fails before any seeding
    bench_services._fresh_database = lambda: _fresh_database(args.reuse)
    services = Services().start()
    if not services.postgres:
        raise SystemExit("bench.scale needs PostgreSQL on 127.0.0.1:5432")
    servers = []
    try:
        t0 = time.monotonic()
        if args.reuse:
            if _seeded_books(services) != args.books:
                raise SystemExit(f"--reuse: {DATABASE} does not hold {args.books:,} books")
            seeded_note = "data from an earlier run's seeding, reused"
        else:
            seed_postgres(services, args.books, max(args.books // 10, 1), args.books)
            seeded_note = f"seeding {time.monotonic() - t0:.0f} s"
        print(f"{args.books:,} books and loans: {seeded_note}", flush=True)
        app = Server("wsgi:app", services.app_env(), "scale-app").start()
        base = Server("bench.baselines.scale_sql:app", services.app_env(), "scale-sql").start()
        servers += [app, base]
        before = None
        if tree is not None:
            before = Server("wsgi:app", services.app_env(PYTHONPATH=str(tree)), "scale-app-before",
                            cwd=tree).start()
            servers.append(before)
        token = login(app)
        load_before = os.getloadavg()[0]
        requests = [*PG_REQUESTS[:5], by_cursor(app), *PG_REQUESTS[5:]]
        rows = measure(requests, app, base, services.redis(), token, args.rounds, before)
        for server in servers:
            server.stop()
        sqlite = (sqlite_rows(services, args.sqlite_books, args.rounds)
                  if args.sqlite_books and not args.base else [])
        desc = machine(services)
    finally:
        for server in servers:
            server.stop()
        services.stop()
    if args.base:
        print(compare_table(rows, args.base, args.rounds))
        raw = WORKDIR.parent / "bench-scale-compare-raw.json"  # RESULTS.md's own raw stays
    else:
        text = section(args, rows, sqlite, desc, load_before, seeded_note,
                       (time.monotonic() - started) / 60)
        print(text)
        write_section(text, ROOT / args.output)
        raw = WORKDIR.parent / "bench-scale-raw.json"
    raw.write_text(json.dumps({"pg": rows, "sqlite": sqlite}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
