"""The two-person rule (``promotion.reviewers_required: 2``), over HTTP without Docker.

Two different data stewards, neither the requester, must approve before anything is
released; each approval is an audit entry; a rejection by either ends the request. The
engine is a fake whose volumes accept archives (see test_web.EmptyHomes): a release is
seen as the archive written to the researcher's home.
"""

from __future__ import annotations

import json

import pytest
import requests
from hdss_hub.promotion import service
from hdss_hub.settings import SettingsError, load_settings

from tests.ledger.helpers import as_user
from tests.promotion.test_airlock import build, service_args
from tests.promotion.test_web import PREFIX, EmptyHomes, call, seeded_airlock, serving


@pytest.fixture
def two(tmp_path):
    """Requests 1 (alice's) and 3 (steve's) await review under the two-person rule."""
    engine = EmptyHomes()
    airlock = seeded_airlock(tmp_path, engine)
    airlock.cfg.reviewers_required = 2
    for request_id in (1, 3):
        airlock._update(request_id, reviewers_required=2)
    with serving(airlock) as server:
        yield server, airlock, engine


def decide(server, user, request_id, decision, reason="fine"):
    return call(
        server,
        "POST",
        f"/requests/{request_id}/review",
        user,
        json={"decision": decision, "reason": reason},
    )


def test_two_different_stewards_must_approve_before_anything_is_released(two):
    server, airlock, engine = two
    r = decide(server, "steve", 1, "approve", "aggregates only")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["state"] == "awaiting-review" and first["review_progress"] == "1 of 2 approvals"
    assert [a["steward"] for a in first["approvals"]] == ["steve"]
    assert first["receipt"] is None and engine.written == []  # nothing released yet
    # The researcher sees how far the review has come.
    assert call(server, "GET", "/requests/1", "alice").json()["review_progress"] == (
        "1 of 2 approvals"
    )
    page = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("alice"), timeout=10)
    assert "1 of 2 approvals" in page.text
    queue = requests.get(f"{server.url}{PREFIX}", headers=as_user("sam"), timeout=10)
    assert "1 of 2 approvals" in queue.text
    # The same steward cannot be the second.
    r = decide(server, "steve", 1, "approve", "still fine")
    assert r.status_code == 403 and "another data steward must approve" in r.json()["message"]
    # The second, different steward releases.
    r = decide(server, "sam", 1, "approve", "agreed")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "released" and done["review_progress"] == "2 of 2 approvals"
    receipt = done["receipt"]
    assert [a["steward"] for a in receipt["approvals"]] == ["steve", "sam"]
    assert receipt["reviewers_required"] == 2 and receipt["reviewer"] == "sam"
    assert len(engine.written) == 1  # the release (its receipt: nothing passed)
    # Each approval is an audit entry; the repeated one a denial.
    entries = [(e.actor, e.action, e.outcome) for e in airlock.audit.entries()]
    assert ("steve", "promotion.approve", "approved") in entries
    assert ("steve", "promotion.review", "denied") in entries
    assert ("sam", "promotion.approve", "released") in entries
    approved = [e for e in airlock.audit.entries() if e.outcome == "approved"]
    assert approved[-1].details["approvals"] == "1 of 2 approvals"
    assert airlock.audit.verify().ok


def test_the_requester_is_never_one_of_the_two(two):
    server, _, engine = two
    assert decide(server, "steve", 3, "approve").status_code == 403  # steve made request 3
    assert decide(server, "sam", 3, "approve").json()["review_progress"] == "1 of 2 approvals"
    r = decide(server, "steve", 3, "approve")
    assert r.status_code == 403 and "another data steward" in r.json()["message"]
    assert call(server, "GET", "/requests/3", "sam").json()["state"] == "awaiting-review"
    assert engine.written == []


def test_a_rejection_by_either_steward_ends_the_request(two):
    server, _, engine = two
    decide(server, "steve", 1, "approve", "looks fine")
    r = decide(server, "sam", 1, "reject", "a cell below 5")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    receipt = r.json()["receipt"]
    assert receipt["decision"] == "reject" and receipt["released"] == []
    assert [a["steward"] for a in receipt["approvals"]] == ["steve"]
    assert decide(server, "steve", 1, "approve").status_code == 409
    assert engine.written == []


def test_one_approval_releases_by_default(tmp_path):
    engine = EmptyHomes()
    airlock = seeded_airlock(tmp_path, engine)
    with serving(airlock) as server:
        r = decide(server, "steve", 1, "approve")
        assert r.json()["state"] == "released" and r.json()["review_progress"] == "1 of 1 approval"
        assert json.loads(json.dumps(r.json()["receipt"]["approvals"]))[0]["steward"] == "steve"


def test_the_setting_reaches_the_airlock(tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text("promotion:\n  reviewers_required: 2\n")
    assert load_settings(path, tmp_path)["promotion"]["reviewers_required"] == 2
    assert load_settings(None, tmp_path)["promotion"]["reviewers_required"] == 1
    path.write_text("promotion:\n  reviewers_required: 0\n")
    with pytest.raises(SettingsError, match="reviewers_required"):
        load_settings(path, tmp_path)
    args = [a for a in service_args(tmp_path) if not a.startswith("--reviewers-required")]
    assert "--reviewers-required=1" in service_args(tmp_path)
    ctx, _, _ = build([*args, "--reviewers-required=2"], monkeypatch).build()
    assert ctx.airlock.cfg.reviewers_required == 2
    ctx.airlock.engine.dispose()
    app = build([*args, "--reviewers-required=0"], monkeypatch)
    with pytest.raises(service.ConfigError, match="reviewers-required"):
        app.build()
