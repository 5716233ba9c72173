"""The development Redis: started by `make run`/scripts, never by the app factory."""

import os

import pytest
import redis

from api import create_app
from scripts import embedded_redis


def test_the_factory_needs_a_url_and_starts_nothing(tmp_path, database_url):
    url_file = tmp_path / "url"
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app("testing", REDIS_URL=None, EMBEDDED_REDIS_URL_FILE=str(url_file),
                   SQLALCHEMY_DATABASE_URI=database_url)
    url_file.write_text("redis://127.0.0.1:1/0\n")
    app = create_app("testing", REDIS_URL=None, EMBEDDED_REDIS_URL_FILE=str(url_file),
                     SQLALCHEMY_DATABASE_URI=database_url)
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:1/0"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name, path in {"WORKDIR": tmp_path, "URL_FILE": tmp_path / "url", "PID_FILE": tmp_path / "redis.pid",
                       "OWNER_FILE": tmp_path / "owner.pid"}.items():
        monkeypatch.setattr(embedded_redis, name, path)
    return tmp_path


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_server_lives_exactly_as_long_as_its_owner_block(workdir):
    with embedded_redis.embedded_redis() as url:
        assert redis.Redis.from_url(url).ping()
        pid = int((workdir / "redis.pid").read_text())
        with embedded_redis.embedded_redis() as again:  # a second user reuses it
            assert again == url
        assert redis.Redis.from_url(url).ping()  # ...and leaves it to its owner
    assert _gone(pid)
    assert not (workdir / "url").exists()
    assert not embedded_redis.stop_orphan()
