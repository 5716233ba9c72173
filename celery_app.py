"""Celery entry point: `celery -A celery_app worker` and `celery -A celery_app beat`.

The Celery instance lives on the Flask app (api/celery_setup.py); `app` is the name
Celery's -A option looks for first, so the Flask app is `flask_app`.
"""

from api import create_app

flask_app = create_app()
app = flask_app.extensions["celery"]
