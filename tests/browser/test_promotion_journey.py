"""The promotion path in a real browser: a researcher promotes a notebook, a steward releases it.

A permission for the researcher's project is logged through the ledger's API and an
aggregate notebook (persons by sex, papermill-parameterised like the course notebooks) is
put into the researcher's sandbox home. Then, in the browser, the researcher submits it on
the promotion service's page and follows the request while it runs on the restricted data
and is checked; a data steward opens the queue, reads the check report and the outputs,
and approves with a reason; the researcher sees the request released, and the released
file is in ``results/<id>/`` of the researcher's home volume. Every step is a screenshot
in tests/artifacts/screenshots/ (promotion-researcher-*, promotion-steward-*).
"""

from __future__ import annotations

import re

import pytest
from hdss_harness.wait import wait_until
from hdss_hub.promotion.core import AirlockConfig

from tests.browser.conftest import Shots
from tests.browser.journey import hub_login, person
from tests.integration.ledger_helpers import (
    ledger_hub,
    permission_body,
    publish_restricted,
    service_api,
)
from tests.promotion import nbs
from tests.promotion.conftest import list_files, put_files

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

RUN_DEADLINE_S = 180
PROJECT = "strokes-web-2026"
DATASET = "dk-restricted"
NOTEBOOK = "study/aggregate.ipynb"
PROMOTION = "/services/promotion/"
FINISHED = ("awaiting-review", "failed", "timed-out", "released", "rejected")


@pytest.fixture(scope="module")
def restricted_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("restricted")
    publish_restricted(root, DATASET, 101)
    return root


@pytest.fixture(scope="module")
def hub(engine, synthetic_root, restricted_root, tmp_path_factory):
    """A first-run-login hub with the ledger and promotion on (named ``hub`` for the log dumps)."""
    yield from ledger_hub(
        engine,
        tmp_path_factory.mktemp("promojourneyhub"),
        "pj",
        synthetic_root,
        restricted_root,
        {"researchers": ["res"], "stewards": ["steward"]},
        reconcile_seconds=60,
        promotion={"run_limits": {"seconds": RUN_DEADLINE_S}},
    )


def home_volume(hub, user: str) -> str:
    return AirlockConfig(prefix=hub.prefix).home_volume(user)


def open_promotion(page, hub, path: str = "") -> None:
    """A promotion page, opened by address (the hub skips the Authorize page for it)."""
    page.goto(f"{hub.url}{PROMOTION}{path}")
    heading = page.get_by_role("heading", level=1)
    heading.wait_for()
    assert heading.inner_text() != "Authorize access"


def request_state(page) -> str:
    return page.locator("h1 span").inner_text().strip()


def steward_reviews(hub, chromium, request, request_id: int) -> None:
    """A data steward finds the request in the queue, reads the checks and outputs, approves."""
    res, steward = hub.users["res"], hub.users["steward"]
    shots = Shots("promotion-steward")
    with person(chromium, request, "steward") as page:
        hub_login(page, hub, steward, shots)
        open_promotion(page, hub)
        assert f"signed in as {steward} (data steward)" in page.locator("nav").inner_text()
        page.get_by_role("heading", name="Awaiting review").wait_for()
        queue = page.locator("table").first
        assert res in queue.inner_text() and PROJECT in queue.inner_text()
        shots(page, "queue")

        queue.get_by_role("link", name=str(request_id), exact=True).click()
        page.wait_for_url(re.compile(rf"{PROMOTION}requests/{request_id}$"))
        assert request_state(page) == "awaiting-review"
        row = page.locator("table").nth(2).locator("tr", has_text="persons_by_sex.csv")
        assert row.locator("td").nth(1).inner_text() == "pass", row.inner_text()
        page.get_by_role(
            "heading", name="Outputs as they would be released (visible to data stewards only)"
        ).wait_for()
        # The CSV is shown as the table it is, its finding-free result beside it.
        shown = page.locator('h3:has-text("persons_by_sex.csv") + div.review')
        assert "koen" in shown.locator("table th").all_inner_texts(), shown.inner_html()
        page.get_by_label("Reason").fill("Counts by sex of many persons each: safe to release")
        shots(page, "review", full_page=True)
        page.get_by_role("button", name=re.compile("^Approve")).click()

        page.wait_for_url(re.compile(rf"{PROMOTION}requests/{request_id}$"))
        page.get_by_role("heading", name="Release receipt").wait_for()
        assert request_state(page) == "released"
        assert f"released by {steward}" in page.locator("table").first.inner_text()
        shots(page, "approved", full_page=True)


def test_a_researcher_promotes_a_notebook_and_a_steward_releases_it(hub, engine, chromium, request):
    res, steward = hub.users["res"], hub.users["steward"]
    permission = permission_body(
        PROJECT, [res], [DATASET], "SDS-2026-0931", "Research approval (browser test)"
    )
    r = service_api(hub, "ledger", "POST", "/permissions", hub.user_token(steward), json=permission)
    assert r.status_code == 201, r.text
    put_files(engine, home_volume(hub, res), {NOTEBOOK: nbs.AGGREGATE})
    token = hub.user_token(res)
    wait_until(
        lambda: service_api(hub, "promotion", "GET", "/me", token).status_code == 200,
        60,
        1,
        "the promotion service did not answer",
    )

    # -- the researcher submits and follows the request ----------------------------------
    shots = Shots("promotion-researcher")
    with person(chromium, request, "researcher") as page:
        hub_login(page, hub, res, shots)
        open_promotion(page, hub)
        assert page.get_by_role("heading", level=1).inner_text() == "Promotion requests"
        assert page.get_by_role("heading", name="Awaiting review").count() == 0
        assert f"signed in as {res}" in page.locator("nav").inner_text()
        page.get_by_label("Project").select_option(PROJECT)
        page.get_by_label("Files and folders from your sandbox home").fill(NOTEBOOK)
        shots(page, "submit-form")
        page.get_by_role("button", name="Promote").click()

        page.wait_for_url(re.compile(rf"{PROMOTION}requests/\d+$"))
        request_id = int(page.url.rsplit("/", 1)[1])
        details = page.locator("table").first.inner_text()
        assert PROJECT in details and res in details and DATASET in details
        assert NOTEBOOK in page.locator("table").nth(1).inner_text()
        shots(page, "submitted")

        seen_states: list[str] = []
        shot_running = False

        def finished() -> bool:
            nonlocal shot_running
            if seen_states:
                page.reload()
            seen_states.append(request_state(page))
            if seen_states[-1] == "running" and len(seen_states) > 1 and not shot_running:
                shots(page, "running", full_page=True)
                shot_running = True
            return seen_states[-1] in FINISHED

        wait_until(finished, RUN_DEADLINE_S, 2, lambda: f"request stuck in {seen_states}")
        assert seen_states[-1] == "awaiting-review", (seen_states, page.content()[-3000:])
        row = page.locator("table").nth(2).locator("tr", has_text="persons_by_sex.csv")
        assert row.locator("td").nth(1).inner_text() == "pass", row.inner_text()
        run_log = page.locator("pre").last.inner_text()
        # The runner's own events, never what the notebook printed.
        assert "notebook 1 of 1" in run_log and "finished" in run_log, run_log
        assert "visible to data stewards only" not in page.content()
        assert page.get_by_role("button", name=re.compile("^Approve")).count() == 0
        shots(page, "checked-awaiting-review", full_page=True)

        open_promotion(page, hub)
        mine = page.locator("table").last.inner_text()
        assert str(request_id) in mine and "awaiting-review" in mine, mine
        shots(page, "own-requests")

        # -- meanwhile a data steward reviews; the researcher then looks again ------------
        steward_reviews(hub, chromium, request, request_id)
        page.reload()
        mine = page.locator("table").last
        assert "released" in mine.inner_text(), mine.inner_text()
        mine.get_by_role("link", name=str(request_id), exact=True).click()
        page.wait_for_url(re.compile(rf"{PROMOTION}requests/{request_id}$"))
        assert request_state(page) == "released"
        assert "Counts by sex" in page.locator("table").first.inner_text()
        receipt = page.locator("pre").last.inner_text()
        assert "persons_by_sex.csv" in receipt, receipt
        shots(page, "released", full_page=True)

    released = list_files(engine, home_volume(hub, res), f"results/{request_id}")
    names = {k.split("/", 1)[1] for k in released}
    assert {"persons_by_sex.csv", "RELEASE-RECEIPT.json"} <= names, names
    assert b"koen" in released[f"{request_id}/persons_by_sex.csv"]
