"""GET /metrics: Prometheus text format, for a bearer of METRICS_TOKEN only."""

import hmac

from flask import current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.errors import NotFound, Unauthorized
from api.metrics import bp
from api.metrics.collectors import LibraryCollector
from api.metrics.http import registry


class _Scrape:
    """The HTTP registry and the scrape-time collector, read as one."""

    def __init__(self, *sources):
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


@bp.get("")
def metrics():
    """Prometheus metrics (HTTP, job runs, outbox backlog, queue lengths).
    ---
    tags: [operations]
    security: [{bearerAuth: []}]
    description: >
      Open only to `Authorization: Bearer <METRICS_TOKEN>`. With METRICS_TOKEN unset the
      endpoint does not exist (404); a missing or wrong token is 401. HTTP counts and the
      latency histogram add up every gunicorn worker process; the outbox, job and queue
      figures are read from the database and the broker at scrape time.
    responses:
      200:
        description: The metrics in the Prometheus text exposition format.
        content:
          text/plain:
            schema: {type: string}
    x-errors: [404]
    """
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        raise NotFound()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.")
    body = generate_latest(_Scrape(registry(), LibraryCollector(current_app)))
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}
