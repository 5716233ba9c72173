"""Before and after, in one run: the app as it is vs the app with bench/fixes.py applied,
interleaved on the same routes (`python -m bench --only fix_effect`). Not part of the
default run: the fixes are proposals for the owners' files, not the code that ships."""

from bench.context import Unavailable
from bench.harness import Row, cpu_note, fmt, interleaved, load, med, skipped

NAME = "fix_effect"


def run(ctx) -> list[Row]:
    try:
        before, after = ctx.server("app"), ctx.server("app-fixed")
    except Unavailable as exc:
        return [skipped("effect of bench/fixes.py", "", str(exc))]
    s, redis_url = ctx.sizes, ctx.services.redis_url

    def throughput(server, path):
        return lambda: load(server.base + path, requests=s.requests, concurrency=s.concurrency,
                            duration=s.duration, server=server)

    def latency(server, path, flush):
        return lambda: load(server.base + path, requests=s.latency_requests, concurrency=1,
                            duration=s.duration, warmup=10, server=server,
                            flush_redis=redis_url if flush else None)

    cases = [("GET /health throughput", "rps", throughput, "/health", None),
             ("cached GET /books?per_page=20 throughput", "rps", throughput, "/books?per_page=20", None),
             ("uncached GET /books?per_page=100 p50", "p50_ms", latency, "/books?per_page=100", True),
             ("cached GET /books?per_page=100 p50", "p50_ms", latency, "/books?per_page=100", False)]
    rows, raw = [], {}
    for title, key, kind, path, *flush in cases:
        args = (path, *[f for f in flush if f is not None])
        runs = interleaved(s.rounds, {"before": kind(before, *args), "after": kind(after, *args)})
        raw[title] = runs
        b, a = med(runs["before"], key), med(runs["after"], key)
        unit = " req/s" if key == "rps" else " ms"
        better = a / b if key == "rps" else b / a
        rows.append(Row(f"effect of bench/fixes.py: {title}", f"fixed {fmt(a, unit)}",
                        f"as is {fmt(b, unit)}", f"{better:.2f}× better", "", None,
                        cpu_note(runs["after"], runs["before"]).replace("vs", "fixed vs as is")))
    if ctx.services.postgres:
        rows.append(overdue_effect(ctx, raw))
    ctx.raw[NAME] = raw
    return rows


def overdue_effect(ctx, raw) -> Row:
    """The overdue job at the larger quick size, as is vs patched, alternating."""
    import sys

    from bench.data import clear_loans, seed_loans
    from bench.overdue import JOB, run_process

    n, engine = 100_000, ctx.services.engine()
    clear_loans(engine)
    seed_loans(engine, n, ctx.sizes.books)

    def job(fixed):
        env = ctx.services.app_env(**({"BENCH_FIXES": "1"} if fixed else {}))
        result = run_process([sys.executable, "-m", "bench.jobproc", JOB], env, 300)
        clear_notices(engine)
        return result

    runs = interleaved(3, {"before": lambda: job(False), "after": lambda: job(True)})
    clear_loans(engine)
    engine.dispose()
    raw["overdue"] = runs
    b, a = med(runs["before"], "seconds"), med(runs["after"], "seconds")
    return Row(f"effect of bench/fixes.py: overdue check, {n:,} loans", f"fixed {a:.2f} s",
               f"as is {b:.2f} s", f"{b / a:.2f}× better", "", None,
               f"peak RSS {med(runs['after'], 'peak_rss_mb'):.0f} fixed vs "
               f"{med(runs['before'], 'peak_rss_mb'):.0f} MB as is")


def clear_notices(engine) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notifications"))
