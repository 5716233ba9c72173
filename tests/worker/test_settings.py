"""Celery configuration built from the app config (api/celery_setup.py)."""

import pytest
from celery.schedules import crontab

from api.celery_setup import SCHEDULE, parse_crontab


def test_reliability_settings(worker_app):
    conf = worker_app.extensions["celery"].conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.timezone == "UTC" and conf.enable_utc
    assert conf.task_ignore_result
    assert worker_app.config["CELERY"]["broker_url"] == conf.broker_url


def test_beat_entries_come_from_the_cron_settings(worker_app):
    schedule = worker_app.extensions["celery"].conf.beat_schedule
    assert set(schedule) == set(SCHEDULE)
    for name, (key, task) in SCHEDULE.items():
        assert schedule[name]["task"] == task
        assert schedule[name]["schedule"] == parse_crontab(worker_app.config[key])


def test_parse_crontab():
    assert parse_crontab("0 6 * * *") == crontab(minute="0", hour="6")
    assert parse_crontab("*/15 * * * 1-5") == crontab(minute="*/15", day_of_week="1-5")
    with pytest.raises(ValueError):
        parse_crontab("every day")
