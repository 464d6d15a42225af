"""The promotion API's access rules and input validation over HTTP (no hub, no Docker).

Callers are named by a test header (tests/ledger/helpers.py); requests are stored
directly, so only the service's own decisions are exercised here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from hdss_hub.ledger.core import Ledger
from hdss_hub.promotion.core import Airlock, AirlockConfig
from hdss_hub.promotion.models import RequestRow
from hdss_hub.promotion.web import Context, make_app
from sqlalchemy.orm import Session

from tests.ledger.helpers import HeaderAuth, ServerThread, as_user

PREFIX = "/services/promotion/"


@pytest.fixture
def service(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    airlock = Airlock(url, Ledger(url), None, AirlockConfig(airlock_dir=str(tmp_path / "a")))
    now = datetime.now(UTC)
    check = {
        "path": "t.csv",
        "size": 9,
        "sha256": "0" * 64,
        "status": "flag",
        "findings": [
            {
                "rule": "small-count",
                "severity": "flag",
                "detail": "count 3 is below 5",
                "where": "row 1, column 'n'",
            }
        ],
    }
    with Session(airlock.engine) as s, s.begin():
        s.add(
            RequestRow(
                project_id="p-1",
                requester="alice",
                state="awaiting-review",
                dataset="dk",
                dataset_version="1",
                developed_on={},
                image="img",
                image_id="sha256:1",
                files=[],
                notebooks=[],
                contract=[],
                run_log="Executing Cell 1\nn\n3\nValueError: R92CW9282A",
                checks=[check],
                created_at=now,
                updated_at=now,
            )
        )
    (airlock.outbox_dir(1)).mkdir(parents=True)
    (airlock.outbox_dir(1) / "t.csv").write_text("g,n\na,3\n")
    ctx = Context(airlock=airlock, prefix=PREFIX)
    with ServerThread(make_app(ctx, auth_mixin=HeaderAuth)) as server:
        yield server, airlock


def call(server, method, path, user, **kwargs):
    return requests.request(
        method,
        f"{server.url}{PREFIX}api{path}",
        headers=as_user(user) if user else {},
        timeout=10,
        **kwargs,
    )


def test_anonymous_callers_are_refused(service):
    server, _ = service
    assert call(server, "GET", "/requests", None).status_code == 403


def test_researchers_see_their_own_requests_without_values(service):
    server, _ = service
    (req,) = call(server, "GET", "/requests", "alice").json()
    assert req["checks"][0]["findings"][0] == {
        "rule": "small-count",
        "severity": "flag",
        "where": "row 1, column 'n'",
    }
    log = call(server, "GET", "/requests/1/log", "alice").json()["log"]
    assert "R92CW9282A" not in log and "ValueError (message withheld" in log
    assert call(server, "GET", "/requests", "bob").json() == []
    assert call(server, "GET", "/requests/1", "bob").status_code == 404


def test_only_stewards_read_outputs_and_review(service):
    server, airlock = service
    assert call(server, "GET", "/requests/1/outputs/t.csv", "alice").status_code == 403
    r = call(server, "GET", "/requests/1/outputs/t.csv", "steve")
    assert r.status_code == 200 and r.text == "g,n\na,3\n"
    assert call(server, "GET", "/requests/1/outputs/..%2Fx", "steve").status_code in (404, 422)
    assert call(server, "GET", "/requests/1/outputs/other.csv", "steve").status_code == 404
    assert "count 3" in json.dumps(call(server, "GET", "/requests/1", "steve").json())
    r = call(
        server, "POST", "/requests/1/review", "alice", json={"decision": "approve", "reason": "x"}
    )
    assert r.status_code == 403
    denied = [e for e in airlock.audit.entries() if e.action == "access.denied"]
    assert denied and denied[-1].actor == "alice"


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"not json", 400, "not valid JSON"),
        (b"[1]", 422, "JSON object"),
        (json.dumps({"project_id": "../x", "paths": ["a"]}).encode(), 422, "project_id"),
        (json.dumps({"project_id": "p-1", "paths": "a"}).encode(), 422, "paths"),
        (json.dumps({"project_id": "p-1", "paths": ["a"], "x": 1}).encode(), 422, "unknown"),
    ],
)
def test_bad_submissions_are_refused_with_a_message(service, body, status, message):
    server, _ = service
    r = call(server, "POST", "/requests", "alice", data=body)
    assert r.status_code == status and message in r.json()["message"]


def test_review_needs_a_decision_and_a_reason(service):
    server, _ = service
    r = call(
        server, "POST", "/requests/1/review", "steve", json={"decision": "maybe", "reason": "x"}
    )
    assert r.status_code == 422
    r = call(
        server, "POST", "/requests/1/review", "steve", json={"decision": "reject", "reason": " "}
    )
    assert r.status_code == 422 and "reason" in r.json()["message"]


def test_pages_render_for_researchers_and_stewards(service):
    server, _ = service
    mine = requests.get(f"{server.url}{PREFIX}", headers=as_user("alice"), timeout=10)
    assert mine.status_code == 200 and "Your requests" in mine.text
    assert "Awaiting review" not in mine.text
    page = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("alice"), timeout=10)
    assert page.status_code == 200 and "count 3" not in page.text and "a,3" not in page.text
    queue = requests.get(f"{server.url}{PREFIX}", headers=as_user("steve"), timeout=10)
    assert "Awaiting review" in queue.text
    review = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("steve"), timeout=10)
    assert "count 3 is below 5" in review.text and "a,3" in review.text


def test_openapi_lists_every_endpoint(service):
    server, _ = service
    spec = requests.get(f"{server.url}{PREFIX}api/openapi.json", timeout=10).json()
    assert set(spec["paths"]) == {
        "/me",
        "/requests",
        "/requests/{id}",
        "/requests/{id}/log",
        "/requests/{id}/outputs/{path}",
        "/requests/{id}/review",
    }
