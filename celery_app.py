"""Celery entry point: `celery -A celery_app worker` and `celery -A celery_app beat`.

The Celery instance lives on the Flask app (api/celery_setup.py); `app` is the name
Celery's -A option looks for first, so the Flask app is `flask_app`.

Logging: connecting `setup_logging` tells Celery not to configure logging itself
(nor hijack the root logger); the worker and beat log through api.logs like the API.
"""

from celery.signals import setup_logging

from api import create_app
from api.logs import setup_logging as configure_logging

flask_app = create_app()
app = flask_app.extensions["celery"]


@setup_logging.connect(weak=False)
def _logging(loglevel=None, **_kwargs):
    level = loglevel if isinstance(loglevel, str) else None
    if isinstance(loglevel, int):
        import logging

        level = logging.getLevelName(loglevel)
    configure_logging(flask_app.config["LOG_FORMAT"], level or flask_app.config["LOG_LEVEL"])
