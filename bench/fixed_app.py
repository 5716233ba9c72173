"""The full app and its Celery app with bench/fixes.py applied: `bench.fixed_app:app`
for gunicorn, `-A bench.fixed_app:celery` for the worker. Measurement only."""

from bench import fixes

fixes.apply()

from api import create_app  # noqa: E402  (the patches must be in place first)

app = create_app(SQLALCHEMY_ENGINE_OPTIONS=fixes.ENGINE_OPTIONS)
celery = app.extensions["celery"]
