"""Shared machinery: gunicorn servers, the load-generator process, medians, the machine."""

import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from api.caching import VERSION_KEY
from api.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Identical for the app and every baseline, so a ratio compares the code, not the config.
def cold_cache(redis) -> None:
    """Empty the Redis db and start a catalog version no entry was built at. A server
    stores a page it built after sending it (api/after_response.py), so a store from
    the request before may land after the flush; its entry names an older version,
    and the next request, like every request timed cold, is a miss."""
    redis.flushdb()
    redis.set(VERSION_KEY, time.time_ns())


GUNICORN_ARGS = ["-w", "2", "--threads", "1", "--backlog", "2048",
                 "--log-level", "warning", "--timeout", "60"]


@dataclass
class Row:
    benchmark: str
    app: str = ""
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: not measured (skipped)
    note: str = ""


def skipped(benchmark: str, target: str, reason: str) -> Row:
    print(f"  skipped: {reason}", flush=True)
    return Row(benchmark, target=target, note=f"skipped: {reason}")


class Server:
    """gunicorn serving `spec` on a free loopback port."""

    def __init__(self, spec: str, env: dict, name: str, cwd: Path = ROOT):
        self.spec, self.env, self.name, self.cwd = spec, env, name, cwd
        self.port = free_port()
        self.proc = None
        self.log = ROOT / "var" / "bench" / f"gunicorn-{name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/health", timeout: float = 60) -> "Server":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS,
               "--bind", f"127.0.0.1:{self.port}", self.spec]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {tail(self.log)}")
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)  # polling a booting server
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {ready_path} in {timeout}s")

    def cpu_seconds(self) -> float:
        """User + system CPU of the arbiter and its workers so far. Less sensitive to
        other load on a shared machine than wall-clock throughput."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the arbiter stops its own workers
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by a process and its children (one level: gunicorn's
    and Celery's workers), read from /proc."""
    total = 0.0
    for pid in [root, *_children(root)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that exited between listing and reading
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def load(url: str, *, requests: int, concurrency: int, duration: float, warmup: int = 50,
         flush_redis: str | None = None, server: Server | None = None) -> dict:
    """Run bench.load in its own process and return its JSON summary; with `server`,
    add the server's CPU milliseconds per request (warm-up included in neither)."""
    cmd = [sys.executable, "-m", "bench.load", url, "--requests", str(requests),
           "--concurrency", str(concurrency), "--duration", str(duration),
           "--warmup", str(warmup)]
    if flush_redis:
        cmd += ["--flush-redis", flush_redis]
    if server is not None and warmup:
        load(url, requests=warmup, concurrency=concurrency, duration=duration, warmup=0,
             flush_redis=flush_redis)
        cmd[cmd.index("--warmup") + 1] = "0"
    cpu = server.cpu_seconds() if server is not None else 0.0
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=duration * 2 + 30)
    result = json.loads(out.stdout)
    if server is not None and result["requests"]:
        result["cpu_ms"] = round((server.cpu_seconds() - cpu) * 1000 / result["requests"], 4)
    bad = result["requests"] - result["ok"]
    if bad or result["errors"]:
        print(f"    warning: {url}: {bad} non-2xx {result['statuses']} errors {result['errors']}",
              flush=True)
    return result


def export_tree(rev: str) -> Path:
    """The tree of commit `rev` under var/bench-base (git archive: no worktree, no
    change to the repository), to serve side by side with this checkout."""
    import shutil
    import tarfile
    from io import BytesIO

    target = ROOT / "var" / "bench-base" / rev.replace("/", "_")
    shutil.rmtree(target, ignore_errors=True)
    tree = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(tree)) as tar:
        tar.extractall(target, filter="data")
    return target


def interleaved(rounds: int, runs: dict) -> dict[str, list]:
    """Run each callable `rounds` times, alternating the order every round
    (A B, B A, A B ...) so drift on a shared machine hits both sides alike."""
    names = list(runs)
    results = {name: [] for name in names}
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            results[name].append(runs[name]())
    return results


def median(values) -> float:
    return statistics.median(values)


def med(results: list[dict], key: str) -> float:
    return median([r[key] for r in results])


def cpu_note(app_runs: list[dict], base_runs: list[dict]) -> str:
    """Server CPU per request, app vs baseline: the cross-check for wall-clock figures."""
    a, b = med(app_runs, "cpu_ms"), med(base_runs, "cpu_ms")
    return f"server CPU/request {a:.2f} vs {b:.2f} ms ({b / a:.2f}×)" if a and b else ""


def fmt(value: float, unit: str = "") -> str:
    digits = 0 if abs(value) >= 100 else 2 if abs(value) < 10 else 1
    return f"{value:,.{digits}f}{unit}"


def machine(services) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.+)", info).group(1).strip()
    except (OSError, AttributeError):
        pass
    try:
        mem = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{mem / 1024 / 1024:.1f} GiB RAM"
    except (OSError, AttributeError):
        ram = "RAM unknown"
    parts = [f"{cpu}, {os.cpu_count()} logical CPUs, {ram}",
             f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}", _version("gunicorn")]
    parts += services.versions()
    return "; ".join(p for p in parts if p)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{dist} {version(dist)}"
    except PackageNotFoundError:
        return ""
