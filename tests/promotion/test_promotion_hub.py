"""The promotion path end to end: a real hub, ledger and promotion services, Docker engine.

A researcher prototypes an aggregate notebook on synthetic data in the sandbox; a steward
logs the permission; the notebook is promoted, runs on the restricted twin, passes the
output checks and is released after another steward's approval. A notebook with small
cells and person ids is caught and its outputs never reach the sandbox; one reading a
column the restricted schema lacks is stopped at the contract; self-review is refused;
the audit chain verifies at the end.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from hdss_harness.wait import wait_until
from hdss_hub.promotion.core import AirlockConfig

from tests.integration.ledger_helpers import ledger_hub, service_api
from tests.promotion import nbs
from tests.promotion.conftest import list_files, permission, put_files

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECT = "cardio-2026"
PNR = re.compile(r"\bR[0-9A-Z]{9}\b")


@pytest.fixture(scope="module")
def phub(engine, data_roots, tmp_path_factory):
    synthetic, restricted = data_roots
    yield from ledger_hub(
        engine,
        tmp_path_factory.mktemp("phub"),
        "prh",
        synthetic,
        restricted,
        {"researchers": ["res"], "stewards": ["steward", "steward2"]},
        reconcile_seconds=60,
        promotion={"run_limits": {"seconds": 180}},
    )


def home(hub, user: str) -> str:
    return AirlockConfig(prefix=hub.prefix).home_volume(user)


def api(hub, method, path, user, service="promotion", **kwargs):
    token = hub.tokens.get(user) if hasattr(hub, "tokens") else None
    if token is None:
        token = hub.user_token(user)
        hub.tokens = {**getattr(hub, "tokens", {}), user: token}
    return service_api(hub, service, method, path, token, **kwargs)


def submit(hub, user, *paths, project=PROJECT):
    """A promotion request for ``paths`` of ``user``'s home, as the service answers it."""
    return api(hub, "POST", "/requests", user, json={"project_id": project, "paths": list(paths)})


def review(hub, user, request_id, decision, reason):
    """A steward's decision on a request (researchers and the submitter are refused)."""
    return api(
        hub,
        "POST",
        f"/requests/{request_id}/review",
        user,
        json={"decision": decision, "reason": reason},
    )


def wait_state(
    hub, user, request_id, states=("awaiting-review", "failed", "timed-out"), deadline=240
):
    def finished() -> dict | None:
        r = api(hub, "GET", f"/requests/{request_id}", user)
        return r.json() if r.ok and r.json()["state"] in states else None

    return wait_until(
        finished,
        deadline,
        2,
        lambda: (
            f"request {request_id} did not finish: "
            f"{api(hub, 'GET', f'/requests/{request_id}/log', user).json()}"
        ),
    )


@pytest.fixture(scope="module")
def sandbox(phub, engine):
    """The researcher's sandbox: notebooks written there, the aggregate run on synthetic data."""
    res = phub.users["res"]
    assert phub.spawn(res, profile="course").status_code in (201, 202)
    phub.wait_ready(res)
    container = engine.containers.get(phub.container_name(res))
    put_files(
        engine,
        home(phub, res),
        {
            "study/aggregate.ipynb": nbs.AGGREGATE,
            "small.ipynb": nbs.SMALL_AND_IDS,
            "missing.ipynb": nbs.MISSING_COLUMN,
        },
    )
    ran = container.exec_run(
        [
            "/opt/venv/bin/python",
            "-m",
            "papermill",
            "study/aggregate.ipynb",
            "/tmp/out.ipynb",
            "-p",
            "output_dir",
            "/tmp",
        ],
        user="1000",
        workdir="/home/jovyan",
    )
    assert ran.exit_code == 0, ran.output.decode(errors="replace")[-2000:]
    assert container.exec_run(["cat", "/tmp/persons_by_sex.csv"]).exit_code == 0
    # The steward logs the permission (the second steward is a member too).
    r = api(
        phub,
        "POST",
        "/permissions",
        phub.users["steward"],
        service="ledger",
        json=permission(PROJECT, [res, phub.users["steward2"]], "SDS-2026-0777"),
    )
    assert r.status_code == 201, r.text
    wait_until(
        lambda: api(phub, "GET", "/me", res).status_code == 200,
        60,
        1,
        "the promotion service did not answer /me",
    )
    return container


@pytest.fixture(scope="module")
def aggregate(phub, sandbox):
    r = submit(phub, phub.users["res"], "study")
    assert r.status_code == 201, r.text
    return wait_state(phub, phub.users["res"], r.json()["id"])


def test_aggregate_is_promoted_run_checked_and_released(phub, engine, aggregate):
    res, steward = phub.users["res"], phub.users["steward"]
    assert aggregate["state"] == "awaiting-review", aggregate
    assert aggregate["files"][0]["path"] == "study/aggregate.ipynb"
    assert {c["path"]: c["status"] for c in aggregate["checks"]}["persons_by_sex.csv"] == "pass"
    log = api(phub, "GET", f"/requests/{aggregate['id']}/log", res).json()
    assert "notebook 1 of 1 (study/aggregate.ipynb): finished" in log["log"]
    # Researchers never read outputs before release, nor review.
    assert (
        api(phub, "GET", f"/requests/{aggregate['id']}/outputs/persons_by_sex.csv", res).status_code
        == 403
    )
    assert review(phub, res, aggregate["id"], "approve", "x").status_code == 403
    shown = api(phub, "GET", f"/requests/{aggregate['id']}/outputs/persons_by_sex.csv", steward)
    assert shown.status_code == 200 and "koen" in shown.text
    page = requests.get(
        f"{phub.url}/services/promotion/requests/{aggregate['id']}",
        headers={"Authorization": f"token {phub.tokens[steward]}"},
        timeout=60,
    )
    assert page.status_code == 200 and "persons_by_sex.csv" in page.text
    r = review(phub, steward, aggregate["id"], "approve", "Aggregates of many persons")
    assert r.status_code == 200 and r.json()["state"] == "released", r.text
    released = list_files(engine, home(phub, res), f"results/{aggregate['id']}")
    names = {k.split("/", 1)[1] for k in released}
    assert "persons_by_sex.csv" in names and "RELEASE-RECEIPT.json" in names
    receipt = json.loads(released[f"{aggregate['id']}/RELEASE-RECEIPT.json"])
    assert receipt["reviewer"] == steward and receipt["image_id"].startswith("sha256:")
    assert receipt["datasets"]["restricted"]["dataset"] == "dk-restricted"


def test_small_cells_and_person_ids_are_caught_and_never_released(phub, engine, sandbox):
    res, steward = phub.users["res"], phub.users["steward"]
    r = submit(phub, res, "small.ipynb")
    assert r.status_code == 201, r.text
    req = wait_state(phub, res, r.json()["id"])
    status = {c["path"]: c["status"] for c in req["checks"]}
    assert status == {"deaths.csv": "flag", "small.ipynb": "block"}, req["checks"]
    # The researcher sees which rule fired where, never the values, nor data in the log.
    assert all("detail" not in f for c in req["checks"] for f in c["findings"])
    log = api(phub, "GET", f"/requests/{req['id']}/log", res).json()["log"]
    assert "notebook 1 of 1 (small.ipynb): finished" in log and not PNR.search(log)
    full = api(phub, "GET", f"/requests/{req['id']}/log", steward).json()["log"]
    assert PNR.search(full)
    steward_view = api(phub, "GET", f"/requests/{req['id']}", steward).json()
    assert any("below 5" in f["detail"] for c in steward_view["checks"] for f in c["findings"])
    r = review(phub, steward, req["id"], "reject", "Cells below 5 and person ids")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert list_files(engine, home(phub, res), f"results/{req['id']}") == {}


def test_a_column_missing_from_the_restricted_schema_stops_at_the_contract(phub, sandbox):
    r = submit(phub, phub.users["res"], "missing.ipynb")
    assert r.status_code == 422, r.text
    assert "income_decile" in r.json()["message"]
    assert r.json()["contract"][0]["problems"][0]["name"] == "bef.income_decile"


def test_path_traversal_and_no_permission_are_refused(phub, sandbox):
    r = submit(phub, phub.users["res"], "../../etc/passwd")
    assert r.status_code == 422 and "'..'" in r.json()["message"]
    r = submit(phub, phub.users["res"], "small.ipynb", project="other-2026")
    assert r.status_code == 403 and "no permission" in r.json()["message"]


def test_a_steward_may_not_review_their_own_request(phub, engine, sandbox):
    s2 = phub.users["steward2"]
    put_files(engine, home(phub, s2), {"mine.ipynb": nbs.AGGREGATE})
    r = submit(phub, s2, "mine.ipynb")
    assert r.status_code == 201, r.text
    req = wait_state(phub, s2, r.json()["id"])
    r = review(phub, s2, req["id"], "approve", "looks fine to me")
    assert r.status_code == 403 and "another data steward" in r.json()["message"]
    assert list_files(engine, home(phub, s2), "results") == {}


def test_every_step_is_audited_and_the_chain_verifies(phub, aggregate):
    steward = phub.users["steward"]
    entries = api(phub, "GET", "/audit?limit=1000", steward, service="ledger").json()
    seen = {(e["action"], e["outcome"]) for e in entries}
    for expected in [
        ("permission.log", "ok"),
        ("promotion.submit", "ok"),
        ("promotion.submit", "contract-failed"),
        ("promotion.run", "started"),
        ("promotion.check", "ok"),
        ("promotion.approve", "released"),
        ("promotion.reject", "rejected"),
        ("promotion.review", "denied"),
    ]:
        assert expected in seen, (expected, sorted(seen))
    verify = api(phub, "GET", "/audit/verify", steward, service="ledger")
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text


def test_the_submit_page_reports_a_contract_failure(phub, sandbox):
    res = phub.users["res"]
    api(phub, "GET", "/me", res)  # makes a token
    headers = {"Authorization": f"token {phub.tokens[res]}"}
    page = requests.get(f"{phub.url}/services/promotion/", headers=headers, timeout=60)
    assert page.status_code == 200 and PROJECT in page.text
    r = requests.post(
        f"{phub.url}/services/promotion/",
        headers=headers,
        data={"project_id": PROJECT, "paths": "missing.ipynb"},
        timeout=60,
        allow_redirects=False,
    )
    assert r.status_code == 422, r.text[:500]
    assert "income_decile" in r.text
