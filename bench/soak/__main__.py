"""`python -m bench.soak [--quick]`: bring up the stack, drive the load from a separate
process, verify, tear down. Exit status 0 only when every check passed."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from bench.soak.stack import ADMIN, ROOT, Stack
from bench.soak.verify import run_checks

# duration caps wall-clock; ops_per_member caps work: the run is bounded both ways.
FULL = {"duration": 60, "members": 12, "ops_per_member": 400, "books": 8}
QUICK = {"duration": 20, "members": 6, "ops_per_member": 250, "books": 5}
LOGIN_AMOUNT, DEFAULT_AMOUNT = 5, 100


def limits(members: int) -> dict:
    """Set explicitly so the probes know the numbers. The default is low enough that
    the probe (and perhaps a busy member) meets it within one run; registration
    allows exactly the planned accounts (members, victim, bystander)."""
    return {"RATELIMIT_ENABLED": "true", "RATELIMIT_DEFAULT": f"{DEFAULT_AMOUNT} per minute",
            "RATELIMIT_LOGIN": f"{LOGIN_AMOUNT} per 10 minutes",
            "RATELIMIT_REGISTER": f"{members + 2} per hour",
            "RATELIMIT_PASSWORD_RESET": "5 per hour"}


def drive(stack: Stack, sizes: dict, seed: int) -> dict:
    cfg = {**sizes, "base": stack.web.base, "admin": ADMIN, "seed": seed,
           "tag": f"{os.getpid()}", "login_amount": LOGIN_AMOUNT,
           "default_amount": DEFAULT_AMOUNT}
    with open(stack.workdir / "driver.log", "w") as log:
        out = subprocess.run([sys.executable, "-m", "bench.soak.drive", json.dumps(cfg)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                             timeout=sizes["duration"] + 180, check=False)
    if out.returncode:
        raise RuntimeError(f"driver exited {out.returncode}; see {stack.workdir / 'driver.log'}")
    return json.loads(out.stdout)


def report(out: dict, checks: list[tuple], stack: Stack, elapsed: float) -> None:
    db = "PostgreSQL" if stack.postgres else "SQLite"
    print(f"\nsoak: {out['requests']} requests in {out['elapsed_s']}s of load "
          f"({out['requests'] / max(out['elapsed_s'], 0.1):.0f}/s), {len(out['registered'])} "
          f"members, {len(out['books'])} books; {db}; total {elapsed:.0f}s")
    for op, statuses in out["statuses"].items():
        print(f"  {op:22} " + "  ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    for example in out["examples"][:15]:
        print(f"  ! {example}")
    print()
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak")
    p.add_argument("--quick", action="store_true", help="20 s of load instead of 60 s")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sqlite", action="store_true",
                   help="use a temp SQLite file even when PostgreSQL is reachable")
    p.add_argument("--smtp-refuse-every", type=int, default=5, metavar="N",
                   help="the sink answers 451 to the first attempt of every Nth message (0: never)")
    p.add_argument("--drain-timeout", type=float, default=60.0,
                   help="seconds to wait for the outbox to empty after the load")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # SIGTERM (e.g. from make or CI) must still reach the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    stack = Stack(limits(sizes["members"]), sqlite=args.sqlite,
                  refuse_every=args.smtp_refuse_every)
    failed = True
    try:
        print("soak: starting redis, database, SMTP sink, gunicorn, celery worker", flush=True)
        stack.start()
        print(f"soak: {sizes['duration']}s of load against {stack.web.base}", flush=True)
        out = drive(stack, sizes, args.seed)
        print("soak: load done; waiting for the outbox to drain", flush=True)
        checks = run_checks(stack, out, args.drain_timeout)
        report(out, checks, stack, time.monotonic() - started)
        failed = not all(ok for _, ok, _ in checks)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        print(f"soak: ERROR {e}", file=sys.stderr)
        return 2
    finally:
        stack.stop(keep_logs=failed)
        if failed:
            print(f"soak: logs kept in {stack.workdir}", file=sys.stderr)
    print(f"\nsoak: {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
