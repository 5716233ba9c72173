"""Metrics read at scrape time from the database and the broker.

They describe shared state (the outbox, job runs, queues), so any API process can
report them and they are the same whichever one is scraped; nothing is counted in
the workers. Each part fails on its own: a database outage still leaves the HTTP
metrics and the queue lengths, and `library_metrics_collector_up` says which part
is missing.
"""

import logging

import redis
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from sqlalchemy import func, select

from api.clock import utcnow
from api.extensions import db
from api.models import Notification, TaskRun

log = logging.getLogger(__name__)

BACKLOG_STATES = ("pending", "sending", "failed")
# The queues SPEC names; task_queues (when configured) adds any others.
KNOWN_QUEUES = ("celery", "mail", "jobs")
# kombu's Redis transport keeps priority 3/6/9 messages in "<queue>\x06\x16<p>" lists.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class LibraryCollector:
    def __init__(self, app):
        self.app = app

    def collect(self):
        up = GaugeMetricFamily("library_metrics_collector_up",
                               "1 if this part of the scrape could be read.", labels=["collector"])
        for name, part in (("outbox", self._outbox), ("jobs", self._jobs), ("queues", self._queues)):
            try:
                yield from part()
                up.add_metric([name], 1)
            except Exception as e:  # noqa: BLE001 - a metric source down must not fail the scrape
                log.warning("metrics: %s unavailable: %s", name, e)
                db.session.rollback()
                up.add_metric([name], 0)
        yield up

    def _outbox(self):
        counts = dict(db.session.execute(
            select(Notification.state, func.count()).where(Notification.state.in_(BACKLOG_STATES))
            .group_by(Notification.state)).all())
        oldest = db.session.scalar(select(func.min(Notification.created_at))
                                   .where(Notification.state == "pending"))
        db.session.commit()
        messages = GaugeMetricFamily("library_outbox_messages",
                                     "Outbox rows not (yet) delivered, by state.", labels=["state"])
        for state in BACKLOG_STATES:
            messages.add_metric([state], counts.get(state, 0))
        yield messages
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("library_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending outbox row (0 when none).", value=age)

    def _jobs(self):
        # A gauge: the runs in each state now. A run leaves `queued` and `running` when it
        # moves on, and a counter that goes down reads as a reset to Prometheus' rate().
        runs = GaugeMetricFamily("library_job_runs", "Job runs recorded, by job and current state.",
                                 labels=["name", "state"])
        for name, state, count in db.session.execute(
                select(TaskRun.name, TaskRun.state, func.count()).group_by(TaskRun.name, TaskRun.state)):
            runs.add_metric([name, state], count)
        durations = SummaryMetricFamily("library_job_duration_seconds",
                                        "Duration of finished job runs, by job and state.",
                                        labels=["name", "state"])
        seconds = _seconds_between(TaskRun.started_at, TaskRun.finished_at)
        for name, state, count, total in db.session.execute(
                select(TaskRun.name, TaskRun.state, func.count(), func.sum(seconds))
                .where(TaskRun.started_at.is_not(None), TaskRun.finished_at.is_not(None))
                .group_by(TaskRun.name, TaskRun.state)):
            durations.add_metric([name, state], count_value=count, sum_value=float(total or 0))
        db.session.commit()
        yield runs
        yield durations

    def _queues(self):
        conf = self.app.extensions["celery"].conf
        names = set(KNOWN_QUEUES) | {conf.task_default_queue}
        names |= {queue.name for queue in (conf.task_queues or ())}
        client = redis.Redis.from_url(conf.broker_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            with client.pipeline(transaction=False) as pipe:
                for name in sorted(names):
                    for suffix in PRIORITY_SUFFIXES:
                        pipe.llen(name + suffix)
                lengths = iter(pipe.execute())
        finally:
            client.close()
        gauge = GaugeMetricFamily("library_celery_queue_length",
                                  "Messages waiting in each Celery queue (Redis LLEN).", labels=["queue"])
        for name in sorted(names):
            gauge.add_metric([name], sum(next(lengths) for _ in PRIORITY_SUFFIXES))
        yield gauge


def _seconds_between(start, end):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
