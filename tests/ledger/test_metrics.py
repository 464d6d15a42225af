"""The ledger's Prometheus metrics: permissions by state and the audit chain's health,
read from the database at scrape time, for the metrics token only (issue 15, item 4)."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from .helpers import MODELS, PREFIX, as_user

PROMETHEUS = {"name": "prometheus", "kind": "service", "scopes": ["read:metrics"]}


def samples(text: str) -> dict[tuple, float]:
    """(name, (label, value)...) -> value of every sample in Prometheus's text format."""
    return {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def scraper(monkeypatch):
    monkeypatch.setitem(MODELS, "prometheus", PROMETHEUS)
    return as_user("prometheus")


def test_metrics_count_permissions_by_state_and_the_chain(service, permission, scraper):
    led = service.ledger
    led.log(permission(), steward="steve")
    gone = led.log(permission(reference="R-2", project_id="p-2"), steward="steve")
    led.revoke(gone.id, "closed", steward="steve")
    led.log(
        permission(reference="R-3", project_id="p-3", valid_from="2026-12-15T00:00:00Z"),
        steward="steve",
    )
    r = requests.get(f"{service.url}{PREFIX}metrics", headers=scraper, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    got = samples(r.text)
    permissions = {
        state: got[("hdss_ledger_permissions", ("state", state))]
        for state in ("pending", "active", "expired", "revoked")
    }
    assert permissions == {"pending": 1, "active": 1, "expired": 0, "revoked": 1}
    assert got[("hdss_audit_entries",)] == 4  # three logged, one revoked
    assert got[("hdss_audit_verify_ok",)] == 1
    assert got[("hdss_audit_verify_checked_entries",)] == 4


def test_a_tampered_chain_reads_as_verify_failing(service, permission):
    from hdss_hub.ledger.metrics import registry

    led = service.ledger
    led.log(permission(), steward="steve")
    assert samples(generate_latest(registry(led)).decode())[("hdss_audit_verify_ok",)] == 1
    with led.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1"))
    assert samples(generate_latest(registry(led)).decode())[("hdss_audit_verify_ok",)] == 0


@pytest.mark.abuse
@pytest.mark.parametrize("caller", ["stu", "alice", "steve", "audrey"])
def test_only_the_metrics_scope_reads_metrics(service, scraper, caller):
    """Students, researchers, stewards and auditors alike are refused (and audited); the
    Prometheus token, the positive control, reads them."""
    url = f"{service.url}{PREFIX}metrics"
    r = requests.get(url, headers=as_user(caller), timeout=10)
    assert r.status_code == 403 and "read:metrics" in r.json()["message"]
    assert "hdss_" not in r.text
    denied = list(service.ledger.audit.entries(action="access.denied"))
    assert [(e.actor, e.target) for e in denied] == [(caller, "metrics")]
    assert requests.get(url, timeout=10).status_code == 403  # anonymous
    assert requests.get(url, headers=scraper, timeout=10).status_code == 200
