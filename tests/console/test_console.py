"""The staff console in a real headless Chromium, against a real server and worker."""

import re

import pytest

from tests.admin.jobs import SAMPLES
from tests.helpers import PASSWORD

pytestmark = pytest.mark.worker
RUN_ID = re.compile(r"\(([0-9a-f-]{36})\)")


def queued_run_id(page, expect) -> str:
    notice = page.locator("#notice")
    expect(notice).to_contain_text("queued (")
    run_id = RUN_ID.search(notice.inner_text()).group(1)
    page.evaluate("document.getElementById('notice').textContent = ''")
    return run_id


def row(page, run_id):
    return page.locator(f'#runs tr[data-run-id="{run_id}"]')


def test_an_admin_imports_watches_progress_reads_messages_downloads_and_retries(
        worker_app, admin, celery_worker, live_server, browser, screenshots, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/console")
    expect(page.locator("#login-panel")).to_be_visible()
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("admin")
    expect(page.locator("#backlog-pending")).to_have_text("0")

    # A dry run first: it succeeds, reports, and writes nothing.
    page.set_input_files("#import-file", str(SAMPLES / "catalog.csv"))
    page.select_option("#import-format", "csv")
    expect(page.locator("#import-dry-run")).to_be_checked()
    page.click("#import-button")
    dry = queued_run_id(page, expect)
    expect(row(page, dry)).to_have_attribute("data-state", "succeeded")
    expect(row(page, dry).locator("td[data-col=result]")).to_contain_text('"dry_run":true')

    # Then for real: the bar reaches 100%, the messages show the refused rows.
    page.uncheck("#import-dry-run")
    page.click("#import-button")
    real = queued_run_id(page, expect)
    expect(row(page, real).locator("progress")).to_have_attribute("data-percent", "100")
    expect(row(page, real)).to_have_attribute("data-state", "succeeded")
    expect(row(page, real).locator("td[data-col=result]")).to_contain_text('"created":3')
    row(page, real).locator("button[data-action=messages]").click()
    expect(page.locator("#messages tbody tr")).to_have_count(3)
    expect(page.locator("#messages")).to_contain_text("invalid_isbn")
    page.select_option("#messages-level", "warning")
    expect(page.locator("#messages tbody tr")).to_have_count(0)
    page.select_option("#messages-level", "")
    expect(page.locator("#messages tbody tr")).to_have_count(3)
    page.screenshot(path=str(screenshots / "console.png"), full_page=True)

    # The report downloads through the API with the admin's token.
    with page.expect_download() as download_info:
        row(page, real).locator("button[data-action=download]").click()
    download = download_info.value
    assert download.suggested_filename == "catalog-report.csv"
    report = (tmp_path / "report.csv")
    download.save_as(report)
    assert report.read_text().splitlines()[1].startswith("2,9780441478125,created,")

    # A failing import can be retried from its row; the retry shows what it retries.
    bad = tmp_path / "bad.csv"
    bad.write_text("name,year\nx,1\n")
    page.set_input_files("#import-file", str(bad))
    page.click("#import-button")
    failed = queued_run_id(page, expect)
    expect(row(page, failed)).to_have_attribute("data-state", "failed")
    expect(row(page, failed).locator("td[data-col=result]")).to_contain_text("header lacks title")
    row(page, failed).locator("button[data-action=retry]").click()
    retry = queued_run_id(page, expect)
    expect(row(page, retry).locator("td[data-col=requested]")).to_contain_text(f"retry of {failed[:8]}")

    # A job with parameters, from the start form.
    page.select_option("#job-name", "export-loans")
    page.fill("#job-params", '{"status": "open"}')
    page.click("#start-button")
    export = queued_run_id(page, expect)
    expect(row(page, export)).to_have_attribute("data-state", "succeeded")
    expect(row(page, export).locator("td[data-col=params]")).to_contain_text('"status":"open"')
    page.fill("#job-params", '{"status": "lost"}')
    page.click("#start-button")
    expect(page.locator("#notice")).to_contain_text("Must be one of: open, active, overdue, returned.")
    page.screenshot(path=str(screenshots / "console-runs.png"), full_page=True)
    assert errors == []
