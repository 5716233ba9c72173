"""Run one background job in a fresh process and report its time and memory.

`python -m bench.jobproc module:callable [JSON kwargs]` with the bench's environment.
A fresh process per run so that the peak resident set (VmHWM; not ru_maxrss, which
Linux carries over from the parent across exec) belongs to this job alone: "peak
RSS flat from 100k to 1M loans" compares these numbers.
"""

import importlib
import json
import sys
import time
from pathlib import Path


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def main() -> None:
    target, kwargs = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    module, _, name = target.partition(":")
    func = getattr(importlib.import_module(module), name)
    from api import create_app

    app = create_app()
    with app.app_context():
        before = status_mb("VmRSS")
        started = time.perf_counter()
        result = func(**kwargs)
        elapsed = time.perf_counter() - started
    peak = status_mb("VmHWM")
    json.dump({"seconds": round(elapsed, 3), "rss_before_mb": round(before, 1),
               "peak_rss_mb": round(peak, 1), "result": result}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
