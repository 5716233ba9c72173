from tests.worker.fixtures import broker_url, celery_worker, clean_broker, inbox, threaded_worker, worker_app  # noqa: F401
