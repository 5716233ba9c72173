"""Flask-Limiter on vs off on the same route: throughput, and Redis round trips per limit."""

from bench.books_cache import fetch
from bench.context import Unavailable
from bench.harness import Row, cpu_note, fmt, interleaved, load, med, skipped
from bench.redis_monitor import count_commands

NAME = "limiter"
BENCH = "limiter on vs off"
TARGET = "≥ 0.85× throughput, 1 Redis command per limit"
COUNTED = 200  # requests under MONITOR; enough for a stable per-request mean


def pick_route(server) -> str:
    # The cached catalog page is the route the issue names; /health until it lands.
    status, _ = fetch(server.base + "/books?per_page=20")
    return "/books?per_page=20" if status == 200 else "/health"


def commands_per_request(ctx, server, route) -> tuple[float, dict]:
    def batch():
        load(server.base + route, requests=COUNTED, concurrency=1, duration=ctx.sizes.duration,
             warmup=0)

    load(server.base + route, requests=20, concurrency=1, duration=10, warmup=0)  # warm the cache
    direct, scripted = count_commands(ctx.services.redis_url, batch)
    return sum(direct.values()) / COUNTED, {"direct": dict(direct), "in scripts": dict(scripted)}


def run(ctx) -> list[Row]:
    try:
        on, off = ctx.server("app"), ctx.server("app-nolimit")
    except Unavailable as exc:
        return [skipped(BENCH, TARGET, str(exc))]
    s = ctx.sizes
    route = pick_route(on)

    def hit(server):
        return lambda: load(server.base + route, requests=s.requests, concurrency=s.concurrency,
                            duration=s.duration, server=server)

    runs = interleaved(s.rounds, {"on": hit(on), "off": hit(off)})
    with_limit, detail_on = commands_per_request(ctx, on, route)
    without, detail_off = commands_per_request(ctx, off, route)
    # One default limit applies (RATELIMIT_DEFAULT is a single limit in the bench): the
    # limit's own command is its script (EVALSHA) per request, and what the limiter adds
    # is the round trips on top of the limiter-off server's. On a cached read the
    # script also carries the cache's read, so that can be 0 with the limit checked.
    per_limit = detail_on["direct"].get("EVALSHA", 0) / COUNTED
    extra_trips = with_limit - without
    ctx.raw[NAME] = {"route": route, "runs": runs, "redis_on": detail_on, "redis_off": detail_off}
    a, b = med(runs["on"], "rps"), med(runs["off"], "rps")
    ratio = a / b
    extra = ", ".join(f"{k} {v / COUNTED:g}" for k, v in sorted(detail_on["direct"].items()))
    return [Row(f"{BENCH}, GET {route}", fmt(a, " req/s"), f"limiter off {fmt(b, ' req/s')}",
                f"{ratio:.2f}×, {per_limit:.2f} Redis commands per limit "
                f"({extra_trips:+.2f} round trips per request)", TARGET,
                ratio >= 0.85 and 0.95 <= per_limit <= 1.0,
                f"{cpu_note(runs['on'], runs['off'])}; limiter on, Redis per request: {extra}")]
