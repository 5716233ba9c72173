"""Full app GET /health throughput vs a bare Flask app returning the same JSON."""

from bench.context import Unavailable
from bench.harness import Row, cpu_note, fmt, interleaved, load, med, skipped

NAME = "health"
BENCH = "GET /health throughput (gunicorn -w 2 sync)"
TARGET = "≥ 0.90×"


def run(ctx) -> list[Row]:
    try:
        app, bare = ctx.server("app"), ctx.server("bare")
    except Unavailable as exc:
        return [skipped(BENCH, TARGET, str(exc))]
    s = ctx.sizes

    def hit(server):
        return lambda: load(server.base + "/health", requests=s.requests,
                            concurrency=s.concurrency, duration=s.duration, server=server)

    runs = interleaved(s.rounds, {"app": hit(app), "bare": hit(bare)})
    ctx.raw[NAME] = runs
    a, b = med(runs["app"], "rps"), med(runs["bare"], "rps")
    ratio = a / b
    return [Row(BENCH, fmt(a, " req/s"), fmt(b, " req/s"), f"{ratio:.2f}×", TARGET, ratio >= 0.90,
                f"p50 {med(runs['app'], 'p50_ms'):.2f} vs {med(runs['bare'], 'p50_ms'):.2f} ms; "
                + cpu_note(runs["app"], runs["bare"]))]
