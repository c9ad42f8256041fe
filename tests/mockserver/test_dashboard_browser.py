"""The live dashboard in a real browser (Debian's Chromium, driven by Selenium through Debian's chromedriver):
offer an inbound call with the page's button, answer it as the agent through the REST API, and watch the call's
state, capabilities and notifications change on the page without a reload. A screenshot of each step is kept in
``reports/dashboard/``.

The browser comes from the project's set-up (``make test`` installs ``chromium`` and ``chromium-driver`` when run
as root, as CI is); without it the test is skipped with that reason — under CI it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_mock import running_mock

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "dashboard"
AGENT = ("paveld@redwings.com", "password")
PHONE = "5000"
CALLER = "+14155550123"


def _browser_or_reason() -> str | None:
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (make test installs Debian's chromium and chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make setup installs the dev extras)"
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = _browser_or_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must have the browser", pytrace=False)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
        "--no-first-run",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


def _wait(driver: Any, condition: Any, what: str, timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message=f"the page never showed {what}")


def _shot(driver: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _row(driver: Any, state: str) -> Any:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f'#calls tbody tr[data-device="{PHONE}"][data-state="{state}"]')
    return rows[0] if rows else False


def test_offer_answer_and_watch_the_call_live(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with running_mock() as base:
        driver.get(f"{base}/dashboard")
        _wait(driver, lambda d: d.find_element(By.ID, "connection").text == "live", "the live stream connected")
        _wait(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, f'#offer-to option[value="{PHONE}"]'),
            "the agents as call targets",
        )
        driver.execute_script("window.__voicekitNoReload = 42;")  # gone if the page reloads
        _shot(driver, "1-dashboard")

        driver.find_element(By.ID, "offer-from").clear()
        driver.find_element(By.ID, "offer-from").send_keys(CALLER)
        Select(driver.find_element(By.ID, "offer-to")).select_by_value(PHONE)
        driver.find_element(By.ID, "offer").click()
        ringing = _wait(driver, lambda d: _row(d, "Ringing"), "the offered call ringing on 5000")
        assert "Answer" in ringing.get_attribute("data-capabilities").split(",")
        _wait(
            driver,
            lambda d: "Ringing" in d.find_element(By.ID, "notifications").text,
            "the Ringing notification in the stream",
        )
        _shot(driver, "2-ringing")

        calls = httpx.get(f"{base}/api/v2/me/calls", params={"fields": "*"}, auth=AGENT, timeout=10).json()
        call_id = next(c["id"] for c in calls["calls"] if c["state"] == "Ringing")
        answered = httpx.post(
            f"{base}/api/v2/me/calls/{call_id}", json={"operationName": "Answer"}, auth=AGENT, timeout=10
        )
        assert answered.status_code == 200, answered.text

        established = _wait(driver, lambda d: _row(d, "Established"), "the call established after Answer")
        capabilities = established.get_attribute("data-capabilities").split(",")
        assert "Hold" in capabilities and "Answer" not in capabilities, capabilities
        _wait(
            driver,
            lambda d: "Established" in d.find_element(By.ID, "notifications").text,
            "the Established notification in the stream",
        )
        _wait(driver, lambda d: "Answer" in d.find_element(By.ID, "journal").text, "the Answer request journaled")
        assert driver.execute_script("return window.__voicekitNoReload;") == 42, "the page reloaded"
        _shot(driver, "3-established")
