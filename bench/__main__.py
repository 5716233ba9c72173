"""`make bench` / `python -m bench [--quick] [--only NAME ...]`: see bench/README.md."""

import argparse
import importlib
import sys
import time

from bench import report
from bench.context import FULL, QUICK, Context
from bench.data import seed_catalog
from bench.harness import export_tree, machine
from bench.services import Services

MODULES = ["http_health", "books_cache", "limiter", "sql_counts", "overdue", "fines", "mail", "imports"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="smaller counts; finishes in under 3 minutes")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=[*MODULES, "compare"],
                   help="run just these (compare: this checkout vs --base, interleaved)")
    p.add_argument("--base", metavar="REV",
                   help="an earlier commit to compare with (`--only compare`): its tree is "
                        "exported with git archive and served side by side with this one")
    p.add_argument("--output", help="Markdown file to write (default bench/RESULTS.md on a full "
                                    "run of every benchmark, var/bench/RESULTS.md otherwise)")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    services = Services().start()
    ctx = Context(services, sizes, args.quick, base=export_tree(args.base) if args.base else None)
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
                           base=args.base or "")
    print(text)
    official = not (args.only or args.quick or args.base)
    default = "bench/RESULTS.md" if official else "var/bench/RESULTS.md"
    path = report.write(text, args.output or default, ctx.raw)
    print(f"wrote {path} in {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
