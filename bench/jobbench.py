"""A bulk job against one SQL statement doing the same work, at each loan count.

The shape shared by the overdue check (bench/overdue.py) and fines-accrual
(bench/fines.py): seed N loans, then run the shipped job (bench.jobproc: the Celery
task in a fresh process, TaskRun bookkeeping included) and the baseline (one raw
statement, bench/baselines/) alternately, each in a fresh process, resetting what
they write between runs so every run does the same work. Each row gives the median
times, their ratio, what both sides wrote (which must match) and the job's peak
resident set (VmHWM); a last row compares the peaks across loan counts.
"""

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.data import clear_loans
from bench.harness import ROOT, Row, interleaved, median, skipped

TARGET = "≤ 2×"
RSS_TARGET = "flat (≤ +10%)"


@dataclass
class JobBench:
    name: str                 # key of ctx.raw
    bench: str                # row label, with {n}
    rss_bench: str            # peak-RSS row label, with {a} and {b}
    job: str                  # module:task run by bench.jobproc
    baseline: str             # module run as `python -m <baseline> DSN`
    baseline_label: str       # e.g. "one INSERT … SELECT"
    seed: Callable            # seed(engine, n): the loans to work on
    written: Callable         # written(conn) -> what a run wrote, then reset it
    describe: Callable        # describe(written) -> the note's first part
    env: dict = field(default_factory=dict)
    per_loan: bool = False    # also show µs per loan


def run_process(cmd, env, timeout, cwd=None) -> dict:
    out = subprocess.run(cmd, cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"{cmd[2]} failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def job_available(job: str) -> str:
    module, _, name = job.partition(":")
    try:
        getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        return f"{job} not importable ({type(exc).__name__}: {exc})"
    return ""


def _seconds(seconds: float, n: int, per_loan: bool) -> str:
    return f"{seconds:.2f} s ({seconds / n * 1e6:.1f} µs/loan)" if per_loan else f"{seconds:.2f} s"


def run(ctx, spec: JobBench) -> list[Row]:
    targets = [spec.bench.format(n=f"{n:,}") for n in ctx.sizes.loan_sizes]
    reason = "" if ctx.services.postgres else "needs PostgreSQL"
    reason = reason or job_available(spec.job)
    if reason:
        return [skipped(name, TARGET, reason) for name in targets]
    services, engine = ctx.services, ctx.services.engine()
    env = ctx.app_env(**spec.env)
    rows, peaks, raw = [], {}, {}

    def side(cmd, timeout):
        result = run_process(cmd, env, timeout)
        with engine.begin() as conn:
            result["written"] = spec.written(conn)
        return result

    for n, label in zip(ctx.sizes.loan_sizes, targets, strict=True):
        clear_loans(engine)
        print(f"  seeding {n:,} loans", flush=True)
        spec.seed(engine, n)
        timeout = 60 + n / 2000  # bounded: a job that stalls fails the row, not the run
        runs = interleaved(ctx.sizes.job_runs, {
            "app": lambda t=timeout: side([sys.executable, "-m", "bench.jobproc", spec.job], t),
            "sql": lambda t=timeout: side([sys.executable, "-m", spec.baseline, services.dsn], t)})
        raw[n] = runs
        a = median([r["seconds"] for r in runs["app"]])
        b = median([r["seconds"] for r in runs["sql"]])
        peaks[n] = max(r["peak_rss_mb"] for r in runs["app"])
        written = {r["written"] for r in runs["app"]} | {r["written"] for r in runs["sql"]}
        same = len(written) == 1
        note = (f"{spec.describe(next(iter(written)))} each side" if same
                else f"the sides wrote different things: {sorted(written)}")
        rows.append(Row(label, _seconds(a, n, spec.per_loan),
                        f"{spec.baseline_label} {_seconds(b, n, spec.per_loan)}", f"{a / b:.2f}×", TARGET,
                        a / b <= 2.0 and same, f"{note}; peak RSS {peaks[n]:.0f} MB"))
    clear_loans(engine)
    engine.dispose()
    ctx.raw[spec.name] = raw
    if len(peaks) >= 2:
        (lo, p_lo), (hi, p_hi) = min(peaks.items()), max(peaks.items())
        rows.append(Row(spec.rss_bench.format(a=f"{lo:,}", b=f"{hi:,}"), f"{p_hi:.0f} MB at {hi:,}",
                        f"{p_lo:.0f} MB at {lo:,}", f"{p_hi / p_lo:.2f}×", RSS_TARGET,
                        p_hi <= 1.1 * p_lo, "peak resident set of the job's process"))
    return rows
