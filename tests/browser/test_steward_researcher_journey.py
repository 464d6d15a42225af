"""The promotion path's people in a real browser: a data steward, a researcher, a student.

The steward logs a research permission through the ledger's form; the researcher sees
the project on the hub's home page and on the ledger's page (and only their own), starts
the project's secure server and finds the restricted data in JupyterLab; a student's
ledger page shows nothing of it. Everyone logs in through the hub's first-run form.
Every step is a screenshot in tests/artifacts/screenshots/ (steward-*, researcher-*,
ledger-student-*), so a person can see what each of them sees.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import Shots
from tests.browser.journey import (
    SPAWN_DEADLINE_MS,
    follow_spawn_into_new_notebook,
    hub_login,
    person,
    run_cell,
)
from tests.integration.ledger_helpers import ledger_hub_fixture, permission_body, service_api

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

PROJECT = "diab-web-2026"
OTHER_PROJECT = "cardio-web-2026"
DATASET = "dk-restricted"
REFERENCE = "FSEID-2026-0815"
LEDGER = "/services/ledger/"
LEDGER_OR_AUTHORIZE = re.compile("^(Authorize access|All research permissions|Your projects)$")
SECURE_FORM = "Secure server of project"


# A first-run-login hub with the ledger on (named ``hub`` for the log dumps).
hub = ledger_hub_fixture(
    "hub",
    "sr",
    {DATASET: 201},
    {"researchers": ["res", "res2"], "students": ["stu"], "stewards": ["steward"]},
    reconcile_seconds=30,
)


def open_ledger(page, hub, shots: Shots) -> None:
    """The ledger's pages, opened by address."""
    page.goto(f"{hub.url}{LEDGER}")
    authorize_if_asked(page, shots)


def authorize_if_asked(page, shots: Shots) -> None:
    """The ledger is a service of this deployment: the hub lets it identify the person
    without an "Authorize access" page in between."""
    heading = page.get_by_role("heading", level=1, name=LEDGER_OR_AUTHORIZE)
    heading.wait_for()
    if heading.inner_text() == "Authorize access":
        shots(page, "authorize-ledger")
    assert heading.inner_text() != "Authorize access"


def test_steward_logs_a_permission_and_the_researcher_works_on_restricted_data(
    hub, chromium, request
):
    steward, res, res2 = hub.users["steward"], hub.users["res"], hub.users["res2"]
    # Another project the researcher is not a member of, logged through the API.
    other = permission_body(OTHER_PROJECT, [res2], [DATASET], "SDS-2026-0001", "Research approval")
    r = service_api(hub, "ledger", "POST", "/permissions", hub.user_token(steward), json=other)
    assert r.status_code == 201, r.text
    today = datetime.now(UTC).date()

    # -- the steward -------------------------------------------------------------------
    shots = Shots("steward")
    with person(chromium, request, "steward") as page:
        hub_login(page, hub, steward, shots)
        open_ledger(page, hub, shots)
        assert page.get_by_role("heading", level=1).inner_text() == "All research permissions"
        assert OTHER_PROJECT in page.locator("table").inner_text()
        assert f"signed in as {steward} (steward)" in page.locator("nav").inner_text()
        shots(page, "ledger-list")

        page.get_by_role("link", name="Log a permission").click()
        page.get_by_role("heading", name="Log a research permission").wait_for()
        page.get_by_label("Project id").fill(PROJECT)
        page.get_by_label("Members").fill(res)
        page.get_by_label(DATASET).check()
        page.get_by_label("Authority").fill("Sundhedsdatastyrelsen")
        page.get_by_label("Reference number").fill(REFERENCE)
        page.get_by_label("Legal basis").fill("Research approval under the Data Protection Act")
        page.get_by_label("Valid from").fill(today.isoformat())
        page.get_by_label("Valid until").fill((today + timedelta(days=90)).isoformat())
        shots(page, "log-form")
        page.get_by_role("button", name="Log permission").click()

        page.wait_for_url(re.compile(rf"{LEDGER}permissions/\d+$"))
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading.endswith(f": {PROJECT}"), heading
        details = page.locator("table").first.inner_text()
        assert "active" in details and res in details and DATASET in details
        assert REFERENCE in details and steward in details
        shots(page, "permission-logged")

        page.get_by_role("link", name="Audit log").click()
        page.get_by_role("heading", level=1).wait_for()
        assert PROJECT in page.content()
        shots(page, "audit-log")

    # -- the researcher ----------------------------------------------------------------
    shots = Shots("researcher")
    server = f"secure-{PROJECT}"
    with person(chromium, request, "researcher") as page:
        hub_login(page, hub, res, shots)
        page.goto(f"{hub.url}/hub/home")
        projects = page.locator("#hdss-projects")
        projects.wait_for()
        text = projects.inner_text()
        assert PROJECT in text and f"/data/restricted/{DATASET}" in text and REFERENCE in text
        assert OTHER_PROJECT not in text
        shots(page, "home-projects")

        projects.get_by_role("link", name="Details").click()
        page.wait_for_url(re.compile(rf"{LEDGER}|/hub/api/oauth2/authorize"))
        authorize_if_asked(page, shots)
        assert page.get_by_role("heading", level=1).inner_text() == "Your projects"
        table = page.locator("table").inner_text()
        assert PROJECT in table and OTHER_PROJECT not in table
        assert page.get_by_role("link", name="Log a permission").count() == 0
        shots(page, "ledger-own-projects")

        page.goto(f"{hub.url}/hub/home")
        page.locator("#hdss-projects").get_by_role("link", name="Open secure server").click()
        page.wait_for_url(re.compile(rf"/hub/spawn/{res}/{server}"))
        page.locator("form#spawn_form [type=submit]").wait_for()
        form = page.locator("form#spawn_form").inner_text()
        assert SECURE_FORM in form and f"/data/restricted/{DATASET}" in form, form
        assert "synthetic" not in form.lower(), form
        shots(page, "secure-spawn-form")
        page.locator("form#spawn_form [type=submit]").click()

        follow_spawn_into_new_notebook(page, hub, f"{res}/{server}", shots, "secure")

        run_cell(page, "import os; sorted(os.listdir('/data/restricted'))")
        listing = page.locator(".jp-OutputArea-output").filter(has_text="[")
        listing.first.wait_for(timeout=SPAWN_DEADLINE_MS)
        assert listing.first.inner_text().strip() == repr([DATASET])
        shots(page, "restricted-data-listed")

        # The guard (hdss_secure): the kernel above ran on the session cookie alone, with no
        # token in the page, and the File menu offers no Download or Export.
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert config["token"] == "", "JupyterLab would send a token header the server refuses"
        page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
        menu = page.locator(".lm-Menu").filter(has_text="Save Notebook").first
        menu.wait_for()
        items = menu.inner_text()
        assert "Download" not in items and "Export Notebook" not in items, items
        shots(page, "secure-file-menu")
        page.keyboard.press("Escape")
        listed = page.locator(".jp-DirListing-item", has_text=".ipynb").first
        listed.click(button="right")
        context = page.locator(".lm-Menu").filter(has_text="Rename").first
        context.wait_for()
        assert "Download" not in context.inner_text(), context.inner_text()
        shots(page, "secure-file-context-menu")
        page.keyboard.press("Escape")


def test_a_student_sees_nothing_of_the_projects_in_the_ledger(hub, chromium, request):
    shots = Shots("ledger-student")
    stu = hub.users["stu"]
    permission = permission_body(
        "hidden-2026", [hub.users["res2"]], [DATASET], "SDS-2026-0002", "Research approval"
    )
    r = service_api(
        hub, "ledger", "POST", "/permissions", hub.user_token(hub.users["steward"]), json=permission
    )
    assert r.status_code == 201, r.text
    with person(chromium, request, "student") as page:
        hub_login(page, hub, stu, shots)
        page.goto(f"{hub.url}/hub/home")
        page.locator("#hdss-home").wait_for()
        assert page.locator("#hdss-projects").count() == 0
        shots(page, "home")

        open_ledger(page, hub, shots)
        body = page.locator("body").inner_text()
        assert "You are not a member of any project" in body
        assert "hidden-2026" not in body and page.locator("table").count() == 0
        assert page.get_by_role("link", name="Log a permission").count() == 0
        shots(page, "ledger-nothing")

        page.goto(f"{hub.url}{LEDGER}audit")
        page.get_by_role("heading", level=1).wait_for()
        assert "only data stewards and auditors" in page.locator("body").inner_text()
        assert "hidden-2026" not in page.content() and "Traceback" not in page.content()
        shots(page, "audit-refused")
