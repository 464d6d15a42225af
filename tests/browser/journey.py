"""Steps the browser journeys share: a person's own browser context, the hub's login form,
following a spawn into a new JupyterLab notebook, and running a cell there."""

from __future__ import annotations

import re
from contextlib import contextmanager

from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import SCREENSHOTS, Shots

SPAWN_DEADLINE_MS = 180_000


@contextmanager
def person(chromium, request, who: str):
    """A browser context of its own for one person; on failure their view is saved."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        yield page
    except BaseException:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}-{who}.png"))
        print(f"{who}'s page at failure: {page.url}")
        raise
    finally:
        context.close()


def hub_login(page, hub, name: str, shots: Shots) -> None:
    """The hub's first-run login form, filled in as a person would."""
    password = hub.password(name)
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(password)
    shots(page, "login")
    page.locator("#login_submit").click()
    page.wait_for_url(lambda url: "/hub/login" not in url)


def follow_spawn_into_new_notebook(
    page, hub, server_path: str, shots: Shots, label: str = ""
) -> list[str]:
    """After pressing Start on the spawn form: the progress events shown, then JupyterLab at
    ``/user/<server_path>/lab`` with a new notebook open. Returns the events' texts.

    JupyterHub answers the spawn form's POST only after the spawn has run for up to
    ``slow_spawn_timeout``; a spawn faster than that lands in JupyterLab directly, with no
    progress page to show (and an empty list returned). A slower one goes through the
    progress page; its events are returned when the page stayed long enough to read them
    (the API's progress events are asserted in tests/integration)."""
    step = f"{label}-" if label else ""
    page.wait_for_url(
        re.compile(rf"/spawn-pending/{server_path}|/user/{server_path}/lab"),
        timeout=SPAWN_DEADLINE_MS,
        wait_until="commit",
    )
    events: list[str] = []
    if "/spawn-pending/" in page.url:
        try:
            # The progress bar and its message; the event log sits folded under "Event log".
            page.locator(".progress-log-event").first.wait_for(
                state="attached", timeout=SPAWN_DEADLINE_MS
            )
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            events = page.locator(".progress-log-event").all_inner_texts()
            shots(page, f"{step}spawn-progress")
        except PlaywrightError as e:
            # The server became ready while the page was being read, and the page moved on
            # (a reload of /spawn-pending/ that redirects, or JupyterLab): the progress page
            # was shown, just too briefly to read. The wait for JupyterLab below still fails
            # if the spawn did.
            if "context was destroyed" not in str(e) and "/spawn-pending/" in page.url:
                raise
        page.wait_for_url(re.compile(rf"/user/{server_path}/lab"), timeout=SPAWN_DEADLINE_MS)

    page.goto(f"{hub.url}/user/{server_path}/lab?reset")
    launcher = page.locator(".jp-LauncherCard[data-category='Notebook']").first
    launcher.wait_for(timeout=SPAWN_DEADLINE_MS)
    shots(page, f"{step}jupyterlab")

    launcher.click()
    return events


NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"


def assert_not_asked_about_news(page) -> None:
    """JupyterLab asks this once it is restored unless the image turned the news off; call
    it after a cell has run (long after the question would have shown)."""
    assert page.get_by_text(NEWS_PROMPT).count() == 0, "JupyterLab asked about Jupyter news"


def run_cell(page, code: str) -> None:
    """Type ``code`` into the last cell and run it once the kernel is idle."""
    # The status bar reads "Python 3 (ipykernel) | Idle" once the kernel is up and idle.
    page.locator(".jp-StatusBar-Widget").filter(has_text=re.compile(r"\| Idle")).first.wait_for(
        timeout=SPAWN_DEADLINE_MS
    )
    cell = page.locator(".jp-Notebook .jp-Cell").last.locator(".cm-content")
    cell.click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
