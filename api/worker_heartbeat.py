"""Which queues have a live worker: each worker says so in Redis, readiness reads it.

A Celery control ping tells that *some* worker answers, not that each queue has one:
with dedicated workers (`-Q mail`, `-Q jobs`, as compose runs them) a dead jobs worker
left readiness green. Asking every worker for its queues (`inspect().active_queues()`)
waits out its whole timeout on every probe. So each worker records itself instead:
every WORKER_HEARTBEAT_SECONDS a consumer bootstep adds its node name to one sorted
set per queue it consumes, scored with the time (`health:queue:<name>`), and removes
itself when it stops. Readiness counts, per queue, the members scored within the
last three intervals: one Redis round trip, no waiting. A worker killed without a
chance to stop drops out of the count three intervals later.

Times come from api.clock on both sides, so the hosts' clocks must agree to within
an interval or so (NTP); tests move the clock instead of waiting.
"""

import logging
from collections.abc import Iterable

import redis
from celery import bootsteps
from flask import Flask

from api.clock import utcnow

log = logging.getLogger(__name__)

KEY = "health:queue:{}"
STALE_AFTER_BEATS = 3  # beats a worker may miss before its queues count as unserved


def beat(client: redis.Redis, node: str, queues: Iterable[str], interval: float) -> None:
    """Record that `node` consumes `queues` now (and forget members long gone)."""
    now = utcnow().timestamp()
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            key = KEY.format(queue)
            pipe.zadd(key, {node: now})
            pipe.zremrangebyscore(key, "-inf", now - STALE_AFTER_BEATS * interval)
            pipe.expire(key, int(STALE_AFTER_BEATS * interval) + 1)
        pipe.execute()


def forget(client: redis.Redis, node: str, queues: Iterable[str]) -> None:
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zrem(KEY.format(queue), node)
        pipe.execute()


def unserved(client: redis.Redis, queues: Iterable[str], interval: float) -> list[str]:
    """The queues no worker has recorded itself on in the last STALE_AFTER_BEATS beats."""
    queues = list(queues)
    since = utcnow().timestamp() - STALE_AFTER_BEATS * interval
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcount(KEY.format(queue), since, "+inf")
        counts = pipe.execute()
    return [queue for queue, count in zip(queues, counts, strict=True) if not count]


def heartbeat_step(app: Flask) -> type[bootsteps.StartStopStep]:
    """The consumer bootstep that beats for this worker's queues (celery_init_app adds it)."""

    class QueueHeartbeat(bootsteps.StartStopStep):
        requires = ("celery.worker.consumer.tasks:Tasks",)  # its queues are known by then

        def __init__(self, c, **kwargs):
            super().__init__(c, **kwargs)
            self.tref = None
            self.queues: list[str] = []

        def start(self, c):
            self.queues = sorted(queue.name for queue in c.task_consumer.queues)
            interval = float(app.config["WORKER_HEARTBEAT_SECONDS"])
            self._beat(c.hostname, interval)  # before the worker reports ready
            self.tref = c.timer.call_repeatedly(interval, self._beat, (c.hostname, interval))

        def stop(self, c):
            if self.tref is not None:
                c.timer.cancel(self.tref)
                self.tref = None
                try:
                    forget(app.extensions["redis"], c.hostname, self.queues)
                except redis.RedisError as e:  # it drops out once its beats are stale
                    log.warning("Could not remove this worker's queue heartbeat: %s", e)

        shutdown = stop

        def _beat(self, node: str, interval: float) -> None:
            try:
                beat(app.extensions["redis"], node, self.queues, interval)
            except redis.RedisError as e:  # readiness then says which queue lacks a worker
                log.warning("Queue heartbeat not recorded: %s", e)

    return QueueHeartbeat
