"""Four eyes on permissions: a steward never logs or amends a permission naming themselves.

Each attempt is an ``abuse`` test (refused, nothing stored, a denied audit entry); beside
them the legitimate paths: another steward logs it, the steward logs permissions naming
others, and anyone may revoke (ending access needs no second pair of eyes).
"""

from __future__ import annotations

import pytest
import requests
from hdss_hub.ledger import Forbidden

from .helpers import PREFIX, as_user

abuse = pytest.mark.abuse


def denied(ledger) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in ledger.audit.entries() if e.outcome == "denied"]


@abuse
def test_a_steward_cannot_log_a_permission_naming_themselves(ledger, permission):
    with pytest.raises(Forbidden, match="four eyes") as refused:
        ledger.log(permission(members=["alice", "steve"]), steward="steve")
    assert "ask another data steward" in str(refused.value)
    assert ledger.list() == []
    assert denied(ledger) == [("steve", "permission.log", "project:diab-2026")]
    assert ledger.audit.verify().ok


@abuse
def test_a_steward_cannot_add_themselves_to_a_permission(ledger, permission):
    p = ledger.log(permission(), steward="steve")
    with pytest.raises(Forbidden, match="four eyes"):
        ledger.amend(p.id, {"reason": "I join", "members": ["alice", "steve"]}, steward="steve")
    assert ledger.get(p.id).members == ("alice",) and ledger.get(p.id).version == 1
    assert denied(ledger) == [("steve", "permission.amend", f"permission:{p.id}")]


@abuse
def test_a_steward_cannot_amend_a_permission_that_names_them(ledger, permission):
    """Logged by another steward with steve as a member: steve may not extend it himself."""
    p = ledger.log(permission(members=["alice", "steve"]), steward="sam")
    extend = {"reason": "more time", "valid_until": "2028-11-01T00:00:00Z"}
    with pytest.raises(Forbidden, match="four eyes"):
        ledger.amend(p.id, extend, steward="steve")
    with pytest.raises(Forbidden, match="four eyes"):  # not even to leave it
        ledger.amend(p.id, {"reason": "I leave", "members": ["alice"]}, steward="steve")
    assert ledger.get(p.id).version == 1
    # Positive control: the other steward amends it.
    assert ledger.amend(p.id, extend, steward="sam").version == 2


def test_another_steward_logs_it_and_anyone_may_revoke(ledger, permission):
    p = ledger.log(permission(members=["alice", "steve"]), steward="sam")
    assert p.members == ("alice", "steve") and p.logged_by == "sam"
    other = ledger.log(
        permission(project_id="other-2026", reference="FSEID-2", members=["bob"]), steward="steve"
    )
    assert other.logged_by == "steve"  # a steward logs permissions naming others
    assert ledger.revoke(p.id, "steve leaves the project", steward="steve").state == "revoked"
    assert denied(ledger) == []


@abuse
def test_the_api_refuses_with_403_and_says_why(service, permission):
    r = requests.post(
        f"{service.api}/permissions",
        json=permission(members=["alice", "steve"]),
        headers=as_user("steve"),
        timeout=10,
    )
    assert r.status_code == 403, r.text
    assert "four eyes" in r.json()["message"] and "another data steward" in r.json()["message"]
    assert service.ledger.list() == []
    # Positive control: sam (a steward by scope) logs the same permission.
    r = requests.post(
        f"{service.api}/permissions",
        json=permission(members=["alice", "steve"]),
        headers=as_user("sam"),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = requests.patch(
        f"{service.api}/permissions/{pid}",
        json={"reason": "extend", "valid_until": "2028-11-01T00:00:00Z"},
        headers=as_user("steve"),
        timeout=10,
    )
    assert r.status_code == 403 and "four eyes" in r.json()["message"]


@abuse
def test_the_form_refuses_and_says_why(service):
    r = requests.post(
        f"{service.url}{PREFIX}permissions/new",
        data={
            "project_id": "diab-2026",
            "members": "alice steve",
            "datasets": "lpr_adm",
            "authority": "Sundhedsdatastyrelsen",
            "reference": "FSEID-1",
            "legal_basis": "Sundhedsloven section 46",
            "valid_from": "2026-11-01",
            "valid_until": "2027-11-01",
        },
        headers=as_user("steve"),
        timeout=10,
        allow_redirects=False,
    )
    assert r.status_code == 403 and "four eyes" in r.text
    assert service.ledger.list() == []
