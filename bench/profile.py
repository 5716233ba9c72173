"""Profile the full app in-process under pyinstrument (a dev-only tool: `pip install pyinstrument`).

    python -m bench.profile /health [-n 2000] [--flush]        # a route, N WSGI calls
    python -m bench.profile worker.jobs:overdue_check --loans 100000   # a job, once
    python -m bench.profile worker.mail:send_pending --mails 1000      # outbox delivery

Starts the bench's own services and data (as `python -m bench` does), prints the
profile's spine (frames over --min of the time) and the Redis commands and SQL
statements per call: where time goes when something is slower than its baseline.
"""

import argparse
import importlib
import re
import sys
import time

from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from bench.data import seed_catalog, seed_loans
from bench.services import Services


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("target", help="a route (/books?per_page=100) or a job (module:callable)")
    p.add_argument("-n", type=int, default=2000, help="calls of a route")
    p.add_argument("--env", action="append", default=[], help="NAME=value for the app")
    p.add_argument("--min", type=float, default=0.03, help="hide frames under this share of the time")
    p.add_argument("--flush", action="store_true", help="FLUSHDB before each call (cache misses)")
    p.add_argument("--loans", type=int, default=0, help="seed this many open loans (10%% overdue)")
    p.add_argument("--mails", type=int, default=0, help="seed this many pending outbox rows and "
                                                        "run an SMTP sink")
    p.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = p.parse_args(argv)
    from pyinstrument import Profiler

    services = Services().start()
    sink = None
    try:
        engine = services.engine()
        seed_catalog(engine, 2000, 200)
        if args.loans:
            seed_loans(engine, args.loans, 2000)
        env = dict(e.split("=", 1) for e in args.env)
        if args.mails:
            sink, env["MAIL_PORT"] = start_sink(services, engine, args.mails)
        engine.dispose()
        from api.extensions import db

        app = services.app(**env)
        if "MAIL_PORT" in env:
            app.config["MAIL_PORT"] = int(env["MAIL_PORT"])
        call, n = make_call(app, args)
        statements = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
        r = services.redis()
        r.config_resetstat()
        profiler = Profiler(interval=0.0002 if n > 1 else 0.001)
        started = time.perf_counter()
        profiler.start()
        for _ in range(n):
            if args.flush:
                r.flushdb()
            call()
        profiler.stop()
        elapsed = time.perf_counter() - started
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in r.info("commandstats").items()
                 if k not in ("cmdstat_config", "cmdstat_info", "cmdstat_flushdb")}
        print(trimmed(profiler.output_text(unicode=True, color=False, show_all=True), args.min))
        print(f"{elapsed:.2f} s for {n} call(s), profiler included; per call: "
              f"{sum(calls.values()) / n:.2f} Redis commands {calls}, "
              f"{len(statements) / n:.2f} SQL statements")
        if args.html:
            with open(args.html, "w") as f:
                f.write(profiler.output_html())
    finally:
        if sink is not None:
            from bench.mail import stop

            stop(sink)
        services.stop()
    return 0


def make_call(app, args):
    if args.target.startswith("/"):
        environ = EnvironBuilder(path=args.target, base_url="http://127.0.0.1/").get_environ()
        call = lambda: b"".join(app.wsgi_app(dict(environ), lambda *a, **k: None))  # noqa: E731
        for _ in range(50):
            call()
        return call, args.n
    module, _, name = args.target.partition(":")
    func = getattr(importlib.import_module(module), name)

    def job():
        with app.app_context():
            print(func())

    return job, 1


def start_sink(services, engine, mails: int):
    from api.embedded_redis import free_port
    from bench.harness import ROOT
    from bench.mail import seed_outbox, start

    smtp_port, count_port = free_port(), free_port()
    sink = start([sys.executable, "-m", "bench.smtp_sink", str(smtp_port), str(count_port)],
                 services.app_env(), ROOT / "var" / "bench" / "sink.log", "ready")
    seed_outbox(engine, mails, "profile")
    return sink, str(smtp_port)


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
