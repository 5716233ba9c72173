from tests.worker.fixtures import (  # noqa: F401
    broker_url,
    celery_worker,
    clean_broker,
    inbox,
    worker_app,
)
