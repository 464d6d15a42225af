"""A student's whole journey in a real browser (Debian's Chromium driven by Playwright).

University login at the provider, the hub's home page, the spawn form, spawn progress,
JupyterLab (never asking about Jupyter news), a DuckDB query on /data/synthetic, and a
refused write to /data. Every step is saved as a screenshot in tests/artifacts/screenshots/
so a person can see what a student sees.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.browser.conftest import Shots
from tests.browser.journey import (
    SPAWN_DEADLINE_MS,
    assert_not_asked_about_news,
    follow_spawn_into_new_notebook,
    run_cell,
)

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

PERSONS_GLOB = "dk-registers/t_person/*.parquet"
QUERY = (
    'import duckdb; duckdb.sql("SELECT koen, count(*) AS persons FROM '
    f"'/data/synthetic/{PERSONS_GLOB}' GROUP BY koen ORDER BY koen\").fetchall()"
)
WRITE = "open('/data/synthetic/dk-registers/t_person/mine.txt', 'w')"


def expected_counts(synthetic_root) -> str:
    """The query's answer computed outside the container, from the same published files."""
    rows = duckdb.sql(
        f"SELECT koen, count(*) FROM '{synthetic_root}/{PERSONS_GLOB.replace('dk-registers', 'dk-registers/current')}' "
        "GROUP BY koen ORDER BY koen"
    ).fetchall()
    return repr(rows)


def provider_login(page, hub, name: str, shots: Shots) -> None:
    page.goto(f"{hub.url}/hub/login")
    button = page.get_by_role("button", name=re.compile("Sign in with your university account"))
    button.wait_for()
    shots(page, "login")
    button.click()
    page.locator("input[name=sub]").fill(name)
    shots(page, "provider")
    page.get_by_role("button", name="Authorize").click()


def test_student_logs_in_spawns_queries_synthetic_data_and_cannot_write_it(
    hub, provider, page, synthetic_root
):
    shots = Shots("student")
    name = f"{hub.prefix}-student"
    provider.set_user(name, preferred_username=name, groups=["ku-hds-course-2026"])

    provider_login(page, hub, name, shots)
    page.goto(f"{hub.url}/hub/home")
    home = page.locator("#hdss-home")
    home.wait_for()
    assert "/data/synthetic/dk-registers" in home.inner_text()
    assert "Course" in page.locator("#hdss-profiles").inner_text()
    shots(page, "home")

    page.locator("#start").click()
    page.wait_for_url(re.compile(r"/hub/spawn"))
    profiles = page.locator("input[name=profile]")
    assert profiles.count() == 1  # a student is offered the course profile only
    page.locator("#profile-course").check()
    shots(page, "spawn-form")
    page.locator("form#spawn_form [type=submit]").click()

    follow_spawn_into_new_notebook(page, hub, name, shots)

    run_cell(page, QUERY)
    result = page.locator(".jp-OutputArea-output").filter(has_text="[(")
    result.first.wait_for(timeout=SPAWN_DEADLINE_MS)
    assert result.first.inner_text().strip() == expected_counts(synthetic_root)
    shots(page, "duckdb-query")
    assert_not_asked_about_news(page)  # nothing phones home, and nobody is asked to

    run_cell(page, WRITE)
    error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    error.first.wait_for(timeout=SPAWN_DEADLINE_MS)
    assert "Read-only file system" in error.first.inner_text()
    shots(page, "write-refused")


def test_a_person_in_no_course_sees_why_they_are_refused(hub, provider, page):
    shots = Shots("refused")
    name = f"{hub.prefix}-visitor"
    provider.set_user(name, preferred_username=name, groups=["ku-physics"])
    provider_login(page, hub, name, shots)
    page.get_by_role("heading", name="403 : Not allowed").wait_for()
    message = page.get_by_text("is not in a group this sandbox serves")
    assert message.count() == 1 and "ku-physics" in message.inner_text()
    shots(page, "refusal")
    assert "Traceback" not in page.content()
