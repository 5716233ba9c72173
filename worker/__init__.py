"""Celery tasks: outbox delivery (mail.py) and the scheduled jobs (jobs.py).

Tasks are `@shared_task`s bound to whichever Celery app loads them (api/celery_setup.py),
take ids or nothing (never ORM objects), and are safe to run twice: acks_late means a
task interrupted by a crash is delivered again.
"""
