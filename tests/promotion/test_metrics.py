"""The promotion service's Prometheus metrics: requests by state, review latency and check
findings by rule, read from the database at scrape time (issue 15, item 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.ledger.helpers import MODELS, as_user
from tests.ledger.test_metrics import PROMETHEUS, samples
from tests.promotion.test_web import PREFIX, seeded_airlock, serving

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "prometheus", PROMETHEUS)
    airlock = seeded_airlock(tmp_path)
    with serving(airlock) as server:
        yield server, airlock


def scrape(server, user: str | None) -> requests.Response:
    headers = as_user(user) if user else {}
    return requests.get(f"{server.url}{PREFIX}metrics", headers=headers, timeout=10)


def test_requests_by_state_review_latency_and_findings(service):
    server, airlock = service
    # Request 1 awaits review from T0 (its checks done) and is rejected ten minutes later.
    airlock.audit.clock = lambda: T0
    airlock.audit.append("service:promotion", "promotion.check", "promotion:1", "ok")
    airlock.audit.clock = lambda: T0 + timedelta(minutes=10)
    airlock.review("steve", 1, "reject", "a cell below 5")

    r = scrape(server, "prometheus")
    assert r.status_code == 200, r.text
    got = samples(r.text)
    states = {
        state: got[("hdss_promotion_requests", ("state", state))]
        for state in ("queued", "running", "awaiting-review", "released", "rejected")
    }
    # seeded: 1 and 3 awaiting review, 2 rejected; now 1 rejected too
    assert states == {
        "queued": 0,
        "running": 0,
        "awaiting-review": 1,
        "released": 0,
        "rejected": 2,
    }
    # Request 2 was rejected without a recorded check: no latency to measure.
    assert got[("hdss_promotion_review_seconds_count",)] == 1
    assert got[("hdss_promotion_review_seconds_sum",)] == 600
    assert got[("hdss_promotion_review_seconds_bucket", ("le", "300.0"))] == 0
    assert got[("hdss_promotion_review_seconds_bucket", ("le", "900.0"))] == 1
    assert got[("hdss_promotion_review_seconds_bucket", ("le", "+Inf"))] == 1
    key = ("hdss_promotion_check_findings", ("rule", "small-count"), ("severity", "flag"))
    assert got[key] == 3  # one finding in each of the three requests


@pytest.mark.abuse
@pytest.mark.parametrize("caller", ["alice", "steve", None])
def test_researchers_and_stewards_cannot_read_metrics(service, caller):
    server, airlock = service
    r = scrape(server, caller)
    assert r.status_code == 403 and "hdss_" not in r.text
    assert scrape(server, "prometheus").status_code == 200  # positive control
