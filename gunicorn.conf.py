"""gunicorn settings for the API; gunicorn reads ./gunicorn.conf.py by itself.

`gunicorn wsgi:app` (bind and workers on the command line or from PORT /
WEB_CONCURRENCY) then gets:

- Prometheus multiprocess mode. Each worker process writes its metric values to
  files in PROMETHEUS_MULTIPROC_DIR and a scrape served by any worker adds them all
  up. The directory's *.db files are removed when the master starts (counts from a previous run
  would otherwise be added to this one's) and `child_exit` tells prometheus_client
  a worker is gone. Without PROMETHEUS_MULTIPROC_DIR a private temporary directory
  is made, so two servers on one host never share (or wipe) each other's files.
- Logging through api.logs: gunicorn's own loggers write the same JSON (or text)
  lines as the app. gunicorn's access log stays off: the app writes the access line,
  with the route template, user id and request id gunicorn cannot know. With a
  `logconfig_dict` gunicorn writes its own access line whatever `accesslog` says
  (one more line per request, with the query string and no request id), so
  `logger_class` turns it off.
- `gc.freeze()` in each worker once the app is loaded (`post_worker_init`): the
  collector stops walking the app's long-lived objects on every older-generation pass.
- The sync worker, answering what gunicorn refuses before the app sees it (an
  over-long URL or header, a malformed request) with problem+json instead of its HTML
  page (api/gunicorn_worker.py).
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

# Before anything imports prometheus_client: it picks its storage at import time.
_own_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_dir = tempfile.mkdtemp(prefix="library-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_dir

from gunicorn.glogging import Logger  # noqa: E402

from api.logs import logging_config  # noqa: E402
from config import log_format  # noqa: E402


class NoAccessLineLogger(Logger):
    def access(self, resp, req, environ, request_time):
        return None


logconfig_dict = logging_config(log_format(), os.environ.get("LOG_LEVEL", "INFO"))
logger_class = NoAccessLineLogger
worker_class = "api.gunicorn_worker.ProblemJsonWorker"
accesslog = None
# The heartbeat file on tmpfs: a worker blocked on a slow disk is not killed for it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    # Only prometheus_client's own files (counter_<pid>.db, ...): a mistyped directory
    # must not cost anything else.
    for path in directory.glob("*.db"):
        path.unlink()


def post_worker_init(worker):
    # What the worker built while loading the app (~150,000 objects: modules, routes,
    # schemas, mappers) lives as long as it does. Frozen, the collector stops walking
    # it on every older-generation collection: ~70 µs a request on average, measured
    # over 2,000 requests in one process (bench/findings.md).
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_dir is not None:
        shutil.rmtree(_own_dir, ignore_errors=True)
