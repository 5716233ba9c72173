"""Soak run: a short, bounded mixed load against gunicorn + a Celery worker on loopback,
then checks that nothing 5xx'd, limits held, every notification went out exactly once
and the circulation counts still add up. `python -m bench.soak [--quick]`; see README.md.
"""
