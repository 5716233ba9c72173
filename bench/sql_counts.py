"""SQL statements per request for every list endpoint, at page sizes 1, 20 and 100.

In-process (Flask test client) because this counts statements, not time. The
Redis cache is flushed before each request so catalog reads reach the database.
A count that grows with the page size is an N+1.
"""

from sqlalchemy import event

from bench.data import ADMIN_ID, HEAVY_ID
from bench.harness import Row, skipped

NAME = "sql_counts"
BENCH = "SQL statements per request, list endpoints"
TARGET = "constant in page size (no N+1)"
SIZES = (1, 20, 100)


def list_endpoints(app, client, headers) -> list[str]:
    """Every argument-free GET route that answers {items, meta}."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        resp = client.get(f"{rule.rule}?per_page=1", headers=headers)
        body = resp.get_json(silent=True) if resp.status_code == 200 else None
        if isinstance(body, dict) and {"items", "meta"} <= body.keys():
            found.append(rule.rule)
    return sorted(found)


def run(ctx) -> list[Row]:
    try:
        app = ctx.services.app()
    except Exception as exc:  # any import or start-up error: the app has not landed whole yet
        return [skipped(BENCH, TARGET, f"app does not build ({type(exc).__name__}: {exc})"[:300])]
    from api.extensions import db
    from api.models import User
    from api.tokens import issue_pair

    with app.app_context():
        tokens = {who: issue_pair(db.session.get(User, uid))["access_token"]
                  for who, uid in (("admin", ADMIN_ID), ("member", HEAVY_ID))}
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    redis = ctx.services.redis()
    client = app.test_client()
    auth = {who: {"Authorization": f"Bearer {t}"} for who, t in tokens.items()}
    endpoints = list_endpoints(app, client, auth["admin"])
    if not endpoints:
        return [skipped(BENCH, TARGET, "no list endpoints answer yet")]

    results, detail, flat = [], {}, True
    for path in endpoints:
        counts, who, items = [], "admin", []
        # One request first, not counted: first-use work (the `*`/`*` rule is created by
        # the first request that needs it) is not a per-request cost.
        client.get(f"{path}?per_page=1", headers=auth["admin"])
        for size in SIZES:
            tries = []  # (items, statements, who): the fullest page counts
            for who in ("admin", "member"):  # members see only their own rows
                redis.flushdb()
                del statements[:]
                resp = client.get(f"{path}?per_page={size}", headers=auth[who])
                tries.append((len((resp.get_json(silent=True) or {}).get("items", [])), len(statements), who))
                if tries[-1][0] == size:
                    break
            n, count, who = max(tries, key=lambda t: t[0])
            counts.append(count)
            items.append(n)
        detail[path] = {"statements": counts, "items": items, "as": who}
        ok = len(set(counts)) == 1 and items[-1] == SIZES[-1]
        flat &= ok
        mark = "" if ok else " ✗" if len(set(counts)) > 1 else f" (only {items[-1]} items)"
        results.append(f"{path} {'/'.join(map(str, counts))}{mark}")
    ctx.raw[NAME] = detail
    return [Row(BENCH, "; ".join(results), "—", "—", TARGET, flat,
                f"statements at per_page {'/'.join(map(str, SIZES))}, cache flushed before each")]
