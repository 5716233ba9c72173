"""HTTP metrics, counted per request by prometheus_client.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py) before this
module is imported, so every worker process writes its counts to its own mmap file
there and a scrape, served by any one worker, adds all of them up
(`MultiProcessCollector`). Without it (one process: tests, `flask run`) the
ordinary in-process registry is used.

Labels are the route *template* ("/books/<int:book_id>"), never the raw path, and
a fixed set of methods: a scanner requesting random URLs or methods cannot grow the
number of series.
"""

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
)

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"

# The *_created series only help exporters whose counters reset unseen; these do not.
disable_created_metrics()

HTTP_REQUESTS = Counter("library_http_requests", "HTTP requests answered.",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("library_http_request_duration_seconds",
                          "Time from the first request hook to the response, in seconds.",
                          ["method", "route"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def registry():
    """What a scrape reads: every worker's files in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


# (method, route, status) -> its counter and histogram children. labels() validates
# and takes a lock on every call; a child never changes, so each is looked up once.
# Bounded like the series themselves: templates, a fixed set of methods, statuses.
_children: dict[tuple, tuple] = {}


def _observe(response: Response) -> Response:
    req = request._get_current_object()  # once: each use of the proxy looks it up again
    route = req.url_rule.rule if req.url_rule is not None else UNMATCHED
    method = req.method if req.method in METHODS else "other"
    key = (method, route, response.status_code)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (HTTP_REQUESTS.labels(method, route, str(response.status_code)),
                                     HTTP_DURATION.labels(method, route))
    children[0].inc()
    started = g.get("request_started")
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response


def init_http_metrics(app: Flask) -> None:
    app.after_request(_observe)
