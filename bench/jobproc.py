"""Run one background job in a fresh process and report its time and memory.

`python -m bench.jobproc module:callable [JSON kwargs]` with the bench's environment.
A fresh process per run so that ru_maxrss (the peak resident set) belongs to this
job alone: "peak RSS flat from 100k to 1M loans" compares these numbers.
"""

import importlib
import json
import resource
import sys
import time
from pathlib import Path


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def main() -> None:
    target, kwargs = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    module, _, name = target.partition(":")
    func = getattr(importlib.import_module(module), name)
    from api import create_app

    app = create_app()
    with app.app_context():
        before = rss_mb()
        started = time.perf_counter()
        result = func(**kwargs)
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump({"seconds": round(elapsed, 3), "rss_before_mb": round(before, 1),
               "peak_rss_mb": round(peak, 1), "result": result}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
