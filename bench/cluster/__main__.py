"""`make cluster` (root; not part of `make test`): PostgreSQL and Redis on the host, two
API hosts, a mail worker, a jobs worker and beat each in its own network namespace;
a bounded load through both APIs with the mail worker SIGKILLed mid-run; then the
checks (no 5xx, every email once, every job once, nothing kept on one host) and the
figures into bench/RESULTS.md.

    python -m bench.cluster [--members 60] [--jobs 6]   |   python -m bench.cluster --down
"""

import argparse
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from celery import Celery

from bench.cluster import END, START, net
from bench.cluster.drive import Load, email_check, job_check, metrics_check, settle
from bench.cluster.stack import API_PORT, REDIS_PORT, Cluster

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "RESULTS.md"


def queues() -> dict[str, str]:
    """The queues the app routes mail and jobs to (mail and jobs once routed, else the default)."""
    from api import create_app
    from api.celery_setup import JOB_TASKS, SEND_TASK

    app = create_app("testing", REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
                     SQLALCHEMY_DATABASE_URI="sqlite://")
    router = app.extensions["celery"].amqp.router
    return {"mail": router.route({}, SEND_TASK)["queue"].name,
            "jobs": router.route({}, JOB_TASKS["overdue-check"])["queue"].name}


def wait_ready(cluster: Cluster, load: Load, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    control = Celery(broker=f"redis://{net.HOST_IP}:{REDIS_PORT}/0").control
    pending = {"api1", "api2", "mail@cluster", "jobs@cluster"}
    while pending:
        for name, proc in cluster.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited; see {cluster.workdir / (name + '.log')}")
        for which in [p for p in pending if p.startswith("api")]:
            # Ready: database, Redis and a worker for each queue, seen through this host.
            url = f"http://{net.NODES[which]}:{API_PORT}/health/ready"
            try:
                # A generous timeout: a request given up on may still be served (and counted).
                with urllib.request.urlopen(url, timeout=30):  # noqa: S310 - our own namespace
                    pending.discard(which)
                load.sent[which] += 1  # served, so the API counted it too
            except urllib.error.HTTPError:
                load.sent[which] += 1  # a 503 was served (and counted) as well
            except OSError:
                pass  # not listening yet: nothing served, nothing counted
        if pending - {"api1", "api2"}:
            for reply in control.ping(timeout=1) or []:
                pending -= set(reply)
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready: {sorted(pending)}")
        time.sleep(0.2)  # polling starting processes


def report(figures: dict, checks: dict, args) -> None:
    lines = [START, "## Cluster (`make cluster`)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.members} members, "
             f"{args.jobs} admin jobs, two API hosts (2 gunicorn workers each), mail worker, jobs "
             "worker and beat each in its own network namespace; PostgreSQL and Redis on the host. "
             "The mail worker was SIGKILLed (whole process group) once a third of the welcome emails "
             "had arrived, and started again.", "",
             "| check | result | figures |", "|---|---|---|"]
    for name, result in checks.items():
        detail = {k: v for k, v in result.items() if k != "ok"} if isinstance(result, dict) else result
        ok = result.get("ok") if isinstance(result, dict) else bool(result)
        lines.append(f"| {name} | {'pass' if ok else 'FAIL'} | `{json.dumps(detail)}` |")
    lines += ["", "Other figures: `" + json.dumps(figures) + "`", END]
    block = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
    print(block)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--down", action="store_true", help="remove a previous run's namespaces")
    args = parser.parse_args(argv)
    if args.down:
        net.down()
        return 0
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("make cluster needs root and iproute2 (ip netns)", file=sys.stderr)
        return 2
    cluster = Cluster(ROOT / "var" / "cluster" / f"run-{os.getpid()}", queues())
    load = Load(cluster, args.members, args.jobs)
    net.up()
    try:
        cluster.start_host_services()
        for name in net.NODES:
            cluster.start(name)
        wait_ready(cluster, load)
        started = time.monotonic()
        load.run()
        settled = settle(cluster, load.run_ids)
        statuses = {op: dict(c) for op, c in load.recorder.statuses.items()}
        checks = {
            "no 5xx, no transport error": {
                "ok": not load.recorder.violations["5xx"] and not load.recorder.violations["transport error"],
                "violations": dict(load.recorder.violations), "examples": load.recorder.examples[:3]},
            "outbox settled": {"ok": settled},
            "every email once": email_check(cluster),
            "every job once": job_check(cluster, load.run_ids),
            "cache shared (change on api1 seen on api2)": {"ok": load.figures.pop("cache_shared")},
            "rate limit shared (6/hour over both hosts)": load.figures.pop("limit_shared"),
            "metrics add up per host": metrics_check(load),
        }
        load.figures.update(total_seconds=round(time.monotonic() - started, 1),
                            requests=dict(load.sent), statuses=statuses, queues=cluster.queues)
        report(load.figures, checks, args)
        return 0 if all(c["ok"] for c in checks.values()) else 1
    finally:
        cluster.stop()
        net.down()


if __name__ == "__main__":
    sys.exit(main())
