"""Catalog import at scale: time and peak RSS of one CSV import of N rows.

    python -m bench.imports --rows 100000 [--postgres URL] [--dry-run]
    python -m bench --only imports        # 10,000 and 100,000 rows, as rows of RESULTS.md

A fresh database (a temporary SQLite file, or with --postgres a `bench_imports`
database re-created on that server), a generated CSV (N distinct books; every
1,000th row invalid, so messages are written too), then in a child process: the
upload is stored in the database as POST /admin/imports would, and the job
(`worker.imports.import_catalog`, the function the Celery task wraps) runs to the
end. The child reports wall time, its peak RSS (ru_maxrss) and its RSS before the
job (app and libraries loaded), so the job's own memory is the difference. Run it
at two sizes to see memory stay flat: `--rows 10000` and `--rows 100000`.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int) -> None:
    from api.books.isbn import isbn13_from_number

    with path.open("w") as f:
        f.write("title,author,isbn,published_year,description,copies\n")
        for n in range(1, rows + 1):
            title = "" if n % 1000 == 0 else f"Imported title {n}"
            f.write(f'{title},Author {n % 5000},{isbn13_from_number(n)},{1950 + n % 70},'
                    f'"A generated description, number {n}",{1 + n % 3}\n')


def child(database_url: str, csv_path: str, dry_run: bool) -> None:
    os.environ["RATELIMIT_ENABLED"] = "false"
    from api import create_app
    from api.admin.files import store_upload
    from api.extensions import db
    from api.models import TaskRun
    from worker import tracking
    from worker.imports import import_catalog

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        run_id = str(uuid.uuid4())
        db.session.add(TaskRun(id=run_id, name="catalog-import", state="queued"))
        db.session.flush()
        with open(csv_path, "rb") as f:
            file = store_upload(db.session, run_id, f, filename="bench.csv", content_type="text/csv")
        db.session.get(TaskRun, run_id).params = {"format": "csv", "dry_run": dry_run,
                                                  "file_id": file.id, "filename": "bench.csv"}
        db.session.commit()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        tracking.begin(run_id, "catalog-import")
        result = import_catalog(tracking.JobRun(run_id))
        tracking.succeed(run_id, result)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 2), "rss_before_mb": round(before / 1024, 1),
                      "peak_rss_mb": round(peak / 1024, 1), "result": result}))


def fresh_postgres(url: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_imports WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_imports"))
    admin.dispose()
    return base.set(database="bench_imports").render_as_string(hide_password=False)


def measure(rows: int, *, postgres: str | None, dry_run: bool = False, env=None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "catalog.csv"
        write_csv(csv_path, rows)
        url = fresh_postgres(postgres) if postgres else f"sqlite:///{Path(tmp) / 'bench.db'}"
        cmd = [sys.executable, "-m", "bench.imports", "--child", url, str(csv_path)]
        cmd += ["--dry-run"] if dry_run else []
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                             env=env or os.environ.copy())
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        report = json.loads(out.stdout.strip().splitlines()[-1])
        size_mb = csv_path.stat().st_size / 1e6
    result = report["result"]
    return {"rows": rows, "file_mb": round(size_mb, 1), "database": "postgresql" if postgres else "sqlite",
            "dry_run": dry_run, **{k: report[k] for k in ("seconds", "rss_before_mb", "peak_rss_mb")},
            "created": result["created"], "invalid": result["invalid"]}


def run(ctx) -> list:
    """Rows for `python -m bench`: the import at two sizes, and whether memory stays flat."""
    from bench.harness import Row, skipped
    from bench.services import PG_ADMIN

    small, large = (2_000, 10_000) if ctx.quick else (10_000, 100_000)
    name = "catalog import, {n} CSV rows (PostgreSQL)"
    if not ctx.services.postgres:
        return [skipped(name.format(n=f"{large:,}"), "bounded memory", "needs PostgreSQL")]
    env = {**os.environ, "REDIS_URL": ctx.services.redis_url}
    runs = {n: measure(n, postgres=PG_ADMIN, env=env) for n in (small, large)}
    rows = [Row(name.format(n=f"{n:,}"), app=f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB",
                baseline="—", ratio=f"{n / r['seconds']:,.0f} rows/s", target="bounded memory",
                met=None,
                note=f"{r['file_mb']} MB file; {r['created']:,} created, {r['invalid']:,} invalid; "
                     f"RSS before the job {r['rss_before_mb']:.0f} MB")
            for n, r in runs.items()]
    a, b = runs[small]["peak_rss_mb"], runs[large]["peak_rss_mb"]
    rows.append(Row(f"catalog import peak RSS, {small:,} → {large:,} rows", app=f"{b:.0f} MB at {large:,}",
                    baseline=f"{a:.0f} MB at {small:,}", ratio=f"{b / a:.2f}×", target="flat (≤ +10%)",
                    met=b <= a * 1.10, note="peak resident set of the importing process"))
    for row in rows[:2]:
        row.met = rows[-1].met  # "bounded" means the larger run's peak stays within the flat target
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", help="server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], args.dry_run)
    print(json.dumps(measure(args.rows, postgres=args.postgres, dry_run=args.dry_run)))


if __name__ == "__main__":
    main()
