"""Before and after, in one run: this checkout vs an earlier commit (`python -m bench
--base REV --only compare`), interleaved on the same routes and the same job.

The earlier commit's tree is exported with `git archive` (bench.harness.export_tree) and
served from there, so both sides are shipped code: nothing is patched. Both use
this run's database (its schema comes from this checkout's migrations, which only
ever add to what the earlier code needs).
"""

import sys

from bench.context import Unavailable
from bench.harness import Row, cpu_note, fmt, interleaved, load, med, skipped

NAME = "compare"


def run(ctx) -> list[Row]:
    try:
        before, after = ctx.server("app-base"), ctx.server("app")
    except Unavailable as exc:
        return [skipped("this checkout vs --base", "", str(exc))]
    s, redis_url = ctx.sizes, ctx.services.redis_url

    def throughput(server, path):
        return lambda: load(server.base + path, requests=s.requests, concurrency=s.concurrency,
                            duration=s.duration, server=server)

    def latency(server, path, flush=False):
        return lambda: load(server.base + path, requests=s.latency_requests, concurrency=1,
                            duration=s.duration, warmup=10, server=server,
                            flush_redis=redis_url if flush else None)

    cases = [("GET /health throughput", "rps", throughput, "/health", False),
             ("cached GET /books?per_page=20 throughput", "rps", throughput, "/books?per_page=20", False),
             ("cached GET /books?per_page=100 p50", "p50_ms", latency, "/books?per_page=100", False),
             ("uncached GET /books?per_page=100 p50", "p50_ms", latency, "/books?per_page=100", True)]
    rows, raw = [], {}
    for title, key, kind, path, flush in cases:
        extra = (flush,) if kind is latency else ()
        runs = interleaved(s.rounds, {"before": kind(before, path, *extra),
                                      "after": kind(after, path, *extra)})
        raw[title] = runs
        b, a = med(runs["before"], key), med(runs["after"], key)
        unit = " req/s" if key == "rps" else " ms"
        better = a / b if key == "rps" else b / a
        rows.append(Row(f"{title}: now vs {ctx.base.name}", f"now {fmt(a, unit)}",
                        f"before {fmt(b, unit)}", f"{better:.2f}× better", "", None,
                        cpu_note(runs["after"], runs["before"]).replace("vs", "now vs before")))
    if ctx.services.postgres:
        rows.append(overdue(ctx, raw))
    ctx.raw[NAME] = raw
    return rows


def overdue(ctx, raw) -> Row:
    """The overdue job at the larger quick size, before vs now, alternating."""
    from bench.data import clear_loans, seed_loans
    from bench.jobbench import run_process
    from bench.overdue import JOB

    n, engine = ctx.sizes.loan_sizes[-1] if ctx.quick else 100_000, ctx.services.engine()
    clear_loans(engine)
    seed_loans(engine, n, ctx.sizes.books)

    def job(cwd):
        env = ctx.app_env(**({"PYTHONPATH": str(cwd)} if cwd else {}))
        result = run_process([sys.executable, "-m", "bench.jobproc", JOB], env, 300, cwd=cwd)
        with engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("TRUNCATE notifications"))
        return result

    runs = interleaved(3, {"before": lambda: job(ctx.base), "after": lambda: job(None)})
    clear_loans(engine)
    engine.dispose()
    raw["overdue"] = runs
    b, a = med(runs["before"], "seconds"), med(runs["after"], "seconds")
    return Row(f"overdue check, {n:,} loans: now vs {ctx.base.name}", f"now {a:.2f} s",
               f"before {b:.2f} s", f"{b / a:.2f}× better", "", None,
               f"peak RSS {med(runs['after'], 'peak_rss_mb'):.0f} now vs "
               f"{med(runs['before'], 'peak_rss_mb'):.0f} MB before")
