"""Fixtures for the browser journeys: provider, hub, and Debian's Chromium via Playwright.

Chromium is launched from /usr/bin/chromium (never `playwright install`). In CI a missing
browser, engine or image is a failure (tests.conftest.require), never a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hdss_harness.chromium import CHROMIUM, launch_options

from tests.conftest import PROJECT_DIR, require
from tests.oidc_fixtures import oidc_hub_fixture

SCREENSHOTS = PROJECT_DIR / "tests" / "artifacts" / "screenshots"

hub = oidc_hub_fixture("browserhub", "web")


@pytest.fixture(scope="module")
def chromium():
    """Chromium for one test module: Playwright's sync API runs an event loop in this
    thread while it lives, which would break the asyncio tests that follow."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh browser context; on failure its last view is saved as FAILED-<test>.png."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"))
        print(f"page at failure: {page.url}")
    context.close()


class Shots:
    """Numbered screenshots of one journey: tests/artifacts/screenshots/<journey>-NN-<step>.png."""

    def __init__(self, journey: str):
        self.journey = journey
        self.n = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{journey}-*.png"):
            old.unlink()

    def __call__(self, page, step: str, *, full_page: bool = False) -> Path:
        self.n += 1
        path = SCREENSHOTS / f"{self.journey}-{self.n:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path
