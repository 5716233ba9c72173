"""GET /books: cached throughput vs bare /health, uncached vs one raw SQL query, hit vs miss."""

import json
import urllib.error
import urllib.request

from bench.context import Unavailable
from bench.harness import Row, cpu_note, fmt, interleaved, load, med, skipped

NAME = "books_cache"
CACHED = "cached GET /books?per_page=20"
UNCACHED = "uncached GET /books?per_page=100, p50 latency"
HIT_MISS = "cache hit vs miss, /books?per_page=100, p50 latency"


def fetch(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, None


def same_page(app, bare) -> str:
    """The baseline must answer the same page, or the ratio means nothing."""
    status, mine = fetch(app.base + "/books?per_page=100")
    if status != 200:
        raise Unavailable(f"GET /books answers {status}")
    _, theirs = fetch(bare.base + "/books?per_page=100")
    if mine["items"] != theirs["items"] or mine["meta"] != theirs["meta"]:
        ids = [i["id"] for i in mine["items"][:3]], [i["id"] for i in theirs["items"][:3]]
        return f"baseline page differs from the app's (first ids {ids[0]} vs {ids[1]})"
    return ""


def run(ctx) -> list[Row]:
    targets = {CACHED: "throughput ≥ 0.5×, p50 ≤ 2×", UNCACHED: "≤ 2×", HIT_MISS: "hit ≥ 5× faster"}
    try:
        app, bare = ctx.server("app"), ctx.server("bare")
        mismatch = same_page(app, bare)
    except Unavailable as exc:
        return [skipped(name, target, str(exc)) for name, target in targets.items()]
    s, redis_url = ctx.sizes, ctx.services.redis_url

    def throughput(server, path):
        return lambda: load(server.base + path, requests=s.requests, concurrency=s.concurrency,
                            duration=s.duration, server=server)

    def latency(server, path, flush):
        return lambda: load(server.base + path, requests=s.latency_requests, concurrency=1,
                            duration=s.duration, warmup=10, server=server,
                            flush_redis=redis_url if flush else None)

    hot = interleaved(s.rounds, {"app": throughput(app, "/books?per_page=20"),
                                 "bare": throughput(bare, "/health")})
    # Flushing the bench Redis before every request makes each app request a miss;
    # the baseline (no cache) pays the same flush so both sides wait alike.
    page = "/books?per_page=100"
    cold = interleaved(s.rounds, {"miss": latency(app, page, True), "sql": latency(bare, page, True),
                                  "hit": latency(app, page, False)})
    ctx.raw[NAME] = {"cached": hot, "latency": cold}

    a_rps, b_rps = med(hot["app"], "rps"), med(hot["bare"], "rps")
    a_p50, b_p50 = med(hot["app"], "p50_ms"), med(hot["bare"], "p50_ms")
    miss, sql, hit = (med(cold[k], "p50_ms") for k in ("miss", "sql", "hit"))
    return [
        Row(CACHED, f"{fmt(a_rps, ' req/s')}, p50 {a_p50:.2f} ms",
            f"bare /health {fmt(b_rps, ' req/s')}, p50 {b_p50:.2f} ms",
            f"{a_rps / b_rps:.2f}× throughput, {a_p50 / b_p50:.2f}× p50", targets[CACHED],
            a_rps / b_rps >= 0.5 and a_p50 / b_p50 <= 2.0,
            f"{s.concurrency} connections; " + cpu_note(hot["app"], hot["bare"])),
        Row(UNCACHED, f"{miss:.2f} ms", f"raw SQL + json.dumps {sql:.2f} ms", f"{miss / sql:.2f}×",
            targets[UNCACHED], miss / sql <= 2.0, (mismatch or "sequential requests, cache flushed "
            "before each") + "; " + cpu_note(cold["miss"], cold["sql"])),
        Row(HIT_MISS, f"hit {hit:.2f} ms", f"miss {miss:.2f} ms", f"hit {miss / hit:.1f}× faster",
            targets[HIT_MISS], miss / hit >= 5.0, "sequential requests; "
            + cpu_note(cold["hit"], cold["miss"]).replace("vs", "hit vs miss")),
    ]
