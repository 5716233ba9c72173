"""Bounded HTTP load generator, run as its own process: `python -m bench.load URL ...`.

asyncio over raw sockets rather than http.client in threads: on a 2-core machine
the generator competes with the server for CPU, and a lighter client leaves more
of it to the thing being measured. Every run is capped in request count and time.
Prints one JSON object: throughput, latency percentiles, status counts, errors.
"""

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.load")
    p.add_argument("url")
    p.add_argument("--requests", type=int, default=1000, help="measured requests (cap)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--duration", type=float, default=30.0, help="wall-clock cap, seconds")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured requests first")
    p.add_argument("--header", action="append", default=[], help="'Name: value'")
    p.add_argument("--flush-redis", metavar="URL",
                   help="FLUSHDB this loopback Redis before every request (forces cache misses; "
                        "needs --concurrency 1)")
    return p.parse_args(argv)


class Client:
    """One keep-alive connection that reconnects when the server closes it
    (gunicorn's sync worker closes after every response)."""

    def __init__(self, host, port, request):
        self.host, self.port, self.request = host, port, request
        self.reader = self.writer = None

    async def fetch(self):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        else:
            await self.reader.read()  # no length: the body runs to EOF
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run(args):
    url = urlsplit(args.url)
    if url.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("bench.load only talks to loopback")
    path = url.path + (f"?{url.query}" if url.query else "")
    extra = "".join(f"{h}\r\n" for h in args.header)
    request = (f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: application/json\r\n"
               f"{extra}\r\n").encode("latin-1")
    flusher = None
    if args.flush_redis:
        import redis

        from bench.harness import cold_cache

        if args.concurrency != 1:
            raise SystemExit("--flush-redis needs --concurrency 1")
        flusher = redis.Redis.from_url(args.flush_redis)

    latencies, statuses, errors = [], Counter(), Counter()
    deadline = time.monotonic() + args.duration

    async def worker(budget, measure):
        client = Client(url.hostname, url.port or 80, request)
        try:
            while budget["left"] > 0 and time.monotonic() < deadline:
                budget["left"] -= 1
                if flusher is not None:
                    cold_cache(flusher)
                t0 = time.perf_counter()
                try:
                    status = await client.fetch()
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors[type(exc).__name__] += 1
                    await client.close()
                    continue
                if measure:
                    latencies.append(time.perf_counter() - t0)
                    statuses[status] += 1
        finally:
            await client.close()

    async def phase(count, measure):
        budget = {"left": count}  # shared: the workers draw from one bounded pool
        await asyncio.gather(*(worker(budget, measure) for _ in range(args.concurrency)))

    await phase(args.warmup, measure=False)
    errors.clear()
    started = time.perf_counter()
    await phase(args.requests, measure=True)
    elapsed = time.perf_counter() - started
    return summarise(latencies, statuses, errors, elapsed)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarise(latencies, statuses, errors, elapsed):
    lat = sorted(latencies)
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "requests": len(lat), "ok": ok, "elapsed_s": round(elapsed, 3),
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": ms(percentile(lat, 0.50)), "p90_ms": ms(percentile(lat, 0.90)),
        "p99_ms": ms(percentile(lat, 0.99)),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
    }


def main(argv=None):
    args = parse_args(argv)
    json.dump(asyncio.run(run(args)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
