"""A real HTTP server for the console (werkzeug in a thread, on a free port) and a
real headless Chromium driven by Playwright. Without /usr/bin/chromium the console
tests skip with the reason; `.ci/run` installs it."""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from api.embedded_redis import free_port
from tests.worker.fixtures import (  # noqa: F401
    broker_url,
    celery_worker,
    clean_broker,
    inbox,
    worker_app,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    path = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "var" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def live_server(worker_app):  # noqa: F811 - the imported fixture
    server = make_server("127.0.0.1", free_port(), worker_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install the `chromium` package (apt-get install chromium; "
                    ".ci/run does) to run the console tests in a real browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                   "(pip install -r requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
