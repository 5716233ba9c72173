"""LIBRARY_TIMEZONE and DEFAULT_PATRON_CATEGORY are checked when the app starts."""

import pytest

from api import create_app
from config import DevelopmentConfig


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "utc+2"])
def test_unknown_time_zone_refuses_to_start(monkeypatch, zone):
    monkeypatch.setattr(DevelopmentConfig, "LIBRARY_TIMEZONE", zone)
    with pytest.raises(RuntimeError, match="LIBRARY_TIMEZONE"):
        create_app("development")


@pytest.mark.parametrize("category", ["Adult", "", "a b", "*", "x" * 33])
def test_bad_default_category_refuses_to_start(monkeypatch, category):
    monkeypatch.setattr(DevelopmentConfig, "DEFAULT_PATRON_CATEGORY", category)
    with pytest.raises(RuntimeError, match="DEFAULT_PATRON_CATEGORY"):
        create_app("development")


def test_valid_settings_start(monkeypatch, redis_url, database_url):
    monkeypatch.setattr(DevelopmentConfig, "LIBRARY_TIMEZONE", "Pacific/Auckland")
    monkeypatch.setattr(DevelopmentConfig, "DEFAULT_PATRON_CATEGORY", "reader")
    app = create_app("development", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url)
    assert app.config["LIBRARY_TIMEZONE"] == "Pacific/Auckland"
