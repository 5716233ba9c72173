"""`make run`: the API, a Celery worker, beat and (by default) the mail sink, under honcho.

With REDIS_URL unset, a development redis-server (scripts/embedded_redis.py) runs for
exactly as long as this does, and its URL is exported, so every process honcho starts
shares the one Redis. The mail sink runs only while MAIL_SERVER/MAIL_PORT are the local
defaults: with a real SMTP server configured there is nothing to catch.

Nothing outlives it: Ctrl-C or SIGTERM (`make stop`, `python -m scripts.run_all stop`)
stops honcho and its processes first, then the Redis this run started.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PID_FILE = ROOT / "var" / "run.pid"
SINK_HOSTS = {"127.0.0.1", "localhost"}
SINK_PORT = "8025"


def uses_mail_sink(env=os.environ) -> bool:
    server = env.get("MAIL_SERVER") or "127.0.0.1"
    return server in SINK_HOSTS and (env.get("MAIL_PORT") or SINK_PORT) == SINK_PORT


def run() -> int:
    from scripts.embedded_redis import embedded_redis

    with contextlib.ExitStack() as stack:
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = stack.enter_context(embedded_redis())
        # The Procfile's commands (gunicorn, celery, python) come from this virtualenv.
        bin_dir = str(Path(sys.executable).parent)
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        # `worker` (no -Q) serves both queues; `mailworker` keeps one process for mail
        # alone, so long jobs on every `worker` process still never hold up an email.
        processes = ["web", "worker", "mailworker", "beat"] + (["mail"] if uses_mail_sink() else [])
        port = os.environ.get("PORT") or "5000"
        print(f"Starting {', '.join(processes)}; API on http://127.0.0.1:{port} "
              f"(Redis {os.environ['REDIS_URL']}); stop with Ctrl-C or `make stop`", flush=True)
        started: list[subprocess.Popen] = []

        def forward(_signum, _frame):
            for honcho in started:
                honcho.send_signal(signal.SIGTERM)  # honcho stops every process it started

        # Handlers first: a signal from now on ends the run in order, never half-way.
        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        # Its own session, so that only this process decides when it stops (and a
        # `make stop` can still find it if this one was killed).
        honcho = subprocess.Popen([os.path.join(bin_dir, "honcho"), "start", "-f", str(ROOT / "Procfile"),
                                   "-d", str(ROOT), "-p", port, *processes], start_new_session=True)
        started.append(honcho)
        PID_FILE.write_text(f"{os.getpid()} {honcho.pid}")
        stack.callback(PID_FILE.unlink, missing_ok=True)
        return honcho.wait()


def stop() -> int:
    """End a running `make run` (and a development Redis a killed one left behind)."""
    from scripts.embedded_redis import stop_orphan

    stopped = False
    with contextlib.suppress(FileNotFoundError, ValueError):
        # run_all and honcho: honcho, in case run_all was killed and cannot pass it on.
        pids = [int(pid) for pid in PID_FILE.read_text().split() if _running(int(pid))]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            _wait_gone(pid)
        stopped = bool(pids)
        if stopped:
            print("Stopped make run.")
        PID_FILE.unlink(missing_ok=True)
    if stop_orphan():
        print("Stopped a development redis-server whose `make run` had died.")
        stopped = True
    if not stopped:
        print("Nothing to stop.")
    return 0


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a killed process nobody reaped yet is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _wait_gone(pid: int) -> None:
    for _ in range(600):  # honcho stops its processes, then run_all its Redis: up to 30 s
        if not _running(pid):
            return
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env")  # honcho reads it too; here it decides what to start
    (ROOT / "var").mkdir(exist_ok=True)
    return stop() if argv[:1] == ["stop"] else run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
