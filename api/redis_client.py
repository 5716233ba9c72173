"""One Redis client per app, with short timeouts so a hung Redis cannot stall requests."""

import redis
from flask import Flask, current_app


def init_redis(app: Flask) -> None:
    timeout = app.config["REDIS_SOCKET_TIMEOUT"]
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        decode_responses=True,
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]
