"""Profile one route of the full app in-process: `python -m bench.profile /health [-n 2000]`.

Starts the bench's own services and data (as `python -m bench` does), then calls the
WSGI app directly N times under pyinstrument (a dev-only tool: `pip install
pyinstrument`), and counts the Redis commands and SQL statements per request, which
is where time goes when a route is slower than its bare-Flask baseline.
"""

import argparse
import re
import sys

from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from bench.data import seed_catalog
from bench.services import Services


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("path")
    p.add_argument("-n", type=int, default=2000)
    p.add_argument("--env", action="append", default=[], help="NAME=value for the app")
    p.add_argument("--min", type=float, default=0.03, help="hide frames under this share of the time")
    p.add_argument("--flush", action="store_true", help="FLUSHDB before each call (cache misses)")
    p.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = p.parse_args(argv)
    from pyinstrument import Profiler

    services = Services().start()
    try:
        engine = services.engine()
        seed_catalog(engine, 2000, 200)
        engine.dispose()
        from api.extensions import db

        app = services.app(**dict(e.split("=", 1) for e in args.env))
        environ = EnvironBuilder(path=args.path, base_url="http://127.0.0.1/").get_environ()
        call = lambda: b"".join(app.wsgi_app(dict(environ), lambda *a, **k: None))  # noqa: E731
        for _ in range(50):
            call()
        statements = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        r = services.redis()
        r.config_resetstat()
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.n):
            if args.flush:
                r.flushdb()
            call()
        profiler.stop()
        stats = r.info("commandstats")
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()
                 if k not in ("cmdstat_config", "cmdstat_info")}
        print(trimmed(profiler.output_text(unicode=True, color=False, show_all=True), args.min))
        print(f"per request: {sum(calls.values()) / args.n:.2f} Redis commands {calls}, "
              f"{len(statements) / args.n:.2f} SQL statements")
        if args.html:
            with open(args.html, "w") as f:
                f.write(profiler.output_html())
    finally:
        services.stop()
    return 0


def trimmed(text: str, share: float) -> str:
    """Only the frames that take at least `share` of the total: the profile's spine."""
    out, total = [], None
    for line in text.splitlines():
        m = re.search(r"(\d+\.\d{3,4}) ", line)
        if not m:
            continue
        total = total or float(m.group(1))
        if float(m.group(1)) >= share * total:
            out.append(line.rstrip()[:160].replace("│  ", "· "))
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
