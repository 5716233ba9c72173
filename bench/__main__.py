"""`make bench` / `python -m bench [--quick] [--only NAME ...]`: see bench/README.md."""

import argparse
import importlib
import sys
import time

from bench import report
from bench.context import FULL, QUICK, Context
from bench.data import seed_catalog
from bench.harness import machine
from bench.services import Services

MODULES = ["http_health", "books_cache", "limiter", "sql_counts", "overdue", "fines", "mail", "imports"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="smaller counts; finishes in under 3 minutes")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=[*MODULES, "fix_effect"],
                   help="run just these (fix_effect: the app as is vs with bench/fixes.py)")
    p.add_argument("--fixes", action="store_true",
                   help="measure the app with the proposed fixes in bench/fixes.py applied")
    p.add_argument("--output", help="Markdown file to write (default bench/RESULTS.md on a full "
                                    "run of every benchmark, var/bench/RESULTS.md otherwise)")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    services = Services().start()
    ctx = Context(services, sizes, args.quick, fixes=args.fixes)
    rows = []
    try:
        print(f"seeding {sizes.books} books, {sizes.users} members", flush=True)
        engine = services.engine()
        seed_catalog(engine, sizes.books, sizes.users)
        engine.dispose()
        for name in args.only or MODULES:
            module = importlib.import_module(f"bench.{name}")
            print(f"== {name}", flush=True)
            t0 = time.monotonic()
            rows += module.run(ctx)
            print(f"   ({time.monotonic() - t0:.0f}s)", flush=True)
        desc = machine(services)
    finally:
        ctx.stop()
        services.stop()
    elapsed = time.monotonic() - started
    text = report.markdown(rows, desc, quick=args.quick, elapsed=elapsed, sizes=sizes,
                           fixes=args.fixes)
    print(text)
    official = not (args.only or args.quick or args.fixes)
    default = "bench/RESULTS.md" if official else "var/bench/RESULTS.md"
    path = report.write(text, args.output or default, ctx.raw)
    print(f"wrote {path} in {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
