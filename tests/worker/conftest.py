from tests.worker.fixtures import (  # noqa: F401
    broker_url,
    celery_worker,
    clean_broker,
    dead_broker_app,
    inbox,
    threaded_worker,
    worker_app,
)
