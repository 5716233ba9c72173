"""`make run`: the API, a Celery worker, beat and (by default) the mail sink, under honcho.

With REDIS_URL unset, the embedded redis-server is started first and its URL
exported, so every process honcho starts shares the one Redis. The mail sink runs
only while MAIL_SERVER/MAIL_PORT are the local defaults: with a real SMTP server
configured there is nothing to catch.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINK_HOSTS = {"127.0.0.1", "localhost"}
SINK_PORT = "8025"


def uses_mail_sink(env=os.environ) -> bool:
    server = env.get("MAIL_SERVER") or "127.0.0.1"
    return server in SINK_HOSTS and (env.get("MAIL_PORT") or SINK_PORT) == SINK_PORT


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env")  # honcho reads it too; here it decides what to start
    if not os.environ.get("REDIS_URL"):
        from api.embedded_redis import ensure_embedded_redis

        os.environ["REDIS_URL"] = ensure_embedded_redis()
    (ROOT / "var").mkdir(exist_ok=True)
    # The Procfile's commands (gunicorn, celery, python) come from this virtualenv.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    # `worker` (no -Q) serves both queues; `mailworker` keeps one process for mail
    # alone, so long jobs on every `worker` process still never hold up an email.
    processes = ["web", "worker", "mailworker", "beat"] + (["mail"] if uses_mail_sink() else [])
    port = os.environ.get("PORT") or "5000"
    print(f"Starting {', '.join(processes)}; API on http://127.0.0.1:{port} "
          f"(Redis {os.environ['REDIS_URL']})", flush=True)
    honcho = os.path.join(bin_dir, "honcho")
    # exec: honcho becomes this process, so Ctrl-C and SIGTERM reach it directly.
    args = [honcho, "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "-p", port, *processes]
    os.execv(honcho, args)  # noqa: S606


if __name__ == "__main__":
    main()
