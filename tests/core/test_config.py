import pytest

from api import create_app
from config import DEV_SECRET, ProductionConfig, get_config


@pytest.mark.parametrize("secret", ["", DEV_SECRET, "changeme", "short"])
def test_production_refuses_missing_or_placeholder_secret(monkeypatch, secret):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_requires_redis_url(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "REDIS_URL", None)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app("production")


def test_production_accepts_a_real_secret(monkeypatch, redis_url, database_url):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "REDIS_URL", redis_url)
    app = create_app("production", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url)
    assert not app.debug and not app.testing


def test_unknown_config_name_is_refused():
    with pytest.raises(RuntimeError, match="APP_CONFIG"):
        get_config("staging")


def test_max_content_length_is_set(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024


def test_a_dotenv_file_is_read_in_development_only(monkeypatch, tmp_path):
    import os

    from config import _load_dotenv

    dotenv = tmp_path / ".env"
    dotenv.write_text("LIBRARY_TEST_FROM_DOTENV=yes\n")
    monkeypatch.delenv("LIBRARY_TEST_FROM_DOTENV", raising=False)
    monkeypatch.setenv("APP_CONFIG", "production")
    _load_dotenv(dotenv)
    assert "LIBRARY_TEST_FROM_DOTENV" not in os.environ  # production: the environment alone
    monkeypatch.setenv("APP_CONFIG", "development")
    _load_dotenv(dotenv)
    assert os.environ["LIBRARY_TEST_FROM_DOTENV"] == "yes"
    monkeypatch.delenv("LIBRARY_TEST_FROM_DOTENV")
    monkeypatch.delenv("APP_CONFIG")
    dotenv.write_text("APP_CONFIG=production\nSECRET_KEY=from-a-file\n")
    with pytest.raises(RuntimeError, match="production reads no .env"):
        _load_dotenv(dotenv)
