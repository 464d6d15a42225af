"""The permission ledger's Python API on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hdss_hub.ledger import Conflict, InvalidRequest, Ledger, NotFound


def counts(ledger) -> tuple[int, int]:
    with ledger.engine.connect() as c:
        perms = c.execute(sa.text("SELECT count(*) FROM ledger_permissions")).scalar()
        entries = c.execute(sa.text("SELECT count(*) FROM audit_entries")).scalar()
    return perms, entries


def test_log_amend_revoke_are_audited(ledger, permission, clock):
    p = ledger.log(permission(), steward="steve")
    assert p.state == "active" and p.datasets == ("lpr_adm",) and p.logged_by == "steve"
    clock.advance(days=1)
    p = ledger.amend(
        p.id,
        {"reason": "bob joins", "members": ["alice", "bob"], "datasets": ["lpr_adm", "lmdb"]},
        steward="steve",
    )
    assert p.members == ("alice", "bob") and p.datasets == ("lmdb", "lpr_adm") and p.version == 2
    p = ledger.revoke(p.id, "project closed early", steward="steve")
    assert p.state == "revoked" and p.revoke_reason == "project closed early"
    entries = list(ledger.audit.entries())
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("permission.log", "steve", f"permission:{p.id}"),
        ("permission.amend", "steve", f"permission:{p.id}"),
        ("permission.revoke", "steve", f"permission:{p.id}"),
    ]
    assert entries[0].details["permission"]["reference"] == "FSEID-00001234"
    assert entries[1].details["changes"]["members"] == {
        "before": ["alice"],
        "after": ["alice", "bob"],
    }
    assert entries[1].details["reason"] == "bob joins"
    assert entries[2].details["reason"] == "project closed early"
    assert ledger.audit.verify().ok


def test_active_permission_follows_the_clock(ledger, permission, clock):
    ledger.log(
        permission(
            valid_from="2026-12-01T00:00:00Z",
            valid_until="2027-01-01T00:00:00Z",
            members=["alice", "bob"],
        ),
        steward="steve",
    )
    assert ledger.active_permission("alice", "diab-2026") is None  # not yet valid
    assert "starts on 2026-12-01" in ledger.why_not("alice", "diab-2026")
    clock.now = datetime(2026, 12, 1, tzinfo=UTC)
    p = ledger.active_permission("alice", "diab-2026")
    assert p is not None and p.datasets == ("lpr_adm",)
    assert p.valid_until == datetime(2027, 1, 1, tzinfo=UTC)
    assert [q.project_id for q in ledger.projects_for("bob")] == ["diab-2026"]
    assert ledger.active_permission("carol", "diab-2026") is None
    assert "not a member" in ledger.why_not("carol", "diab-2026")
    assert ledger.active_permission("alice", "other-project") is None
    clock.now = datetime(2027, 1, 1, tzinfo=UTC)  # valid_until is exclusive
    assert ledger.active_permission("alice", "diab-2026") is None
    assert ledger.list()[0].state == "expired"
    assert ledger.projects_for("bob") == []
    assert len(ledger.projects_for("bob", include_inactive=True)) == 1
    assert "expired on 2027-01-01" in ledger.why_not("alice", "diab-2026")


def test_revoked_permission_is_not_active(ledger, permission):
    p = ledger.log(permission(), steward="steve")
    assert ledger.active_permission("alice", "diab-2026") is not None
    ledger.revoke(p.id, {"reason": "breach of terms"}, steward="steve")
    assert ledger.active_permission("alice", "diab-2026") is None
    assert "revoked by steve: breach of terms" in ledger.why_not("alice", "diab-2026")
    with pytest.raises(Conflict, match="already revoked"):
        ledger.revoke(p.id, "again", steward="steve")
    with pytest.raises(Conflict, match="revoked"):
        ledger.amend(
            p.id, {"reason": "extend", "valid_until": "2028-01-01T00:00:00Z"}, steward="steve"
        )


def test_amend_can_extend_an_expired_permission(ledger, permission, clock):
    p = ledger.log(permission(valid_until="2026-12-01T00:00:00Z"), steward="steve")
    clock.now = datetime(2026, 12, 2, tzinfo=UTC)
    assert ledger.active_permission("alice", "diab-2026") is None
    ledger.amend(
        p.id,
        {"reason": "extension FSEID-00001234-2", "valid_until": "2027-06-01T00:00:00Z"},
        steward="steve",
    )
    assert ledger.active_permission("alice", "diab-2026").version == 2


BAD = [
    ({"datasets": ["lpr_adm", "cancer"]}, "unknown restricted dataset"),
    ({"datasets": ["../restricted/lpr_adm"]}, "never a path"),
    ({"datasets": ["lpr_adm/2026.1"]}, "never a path"),
    ({"datasets": []}, "datasets"),
    ({"members": ["alice", "mallory"]}, "unknown hub user"),
    ({"members": ["alice", "alice"]}, "more than once"),
    ({"valid_until": "2026-10-01T00:00:00Z"}, "end before it starts"),
    ({"valid_from": "2026-11-01T00:00:00"}, "timezone"),
    ({"valid_from": 1793500000}, "valid_from"),
    ({"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2026-06-01T00:00:00Z"}, "already past"),
    ({"project_id": "Diab 2026"}, "project id"),
    ({"reference": ""}, "reference"),
    ({"legal_basis": "ok\x00"}, "legal_basis"),
    ({"extra": "field"}, "extra"),
]


@pytest.mark.parametrize(("over", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_and_nothing_stored(ledger, permission, over, message):
    with pytest.raises(InvalidRequest, match=message):
        ledger.log(permission(**over), steward="steve")
    assert counts(ledger) == (0, 0)


def test_duplicate_reference_and_overlap_are_refused(ledger, permission):
    ledger.log(permission(), steward="steve")
    before = counts(ledger)
    with pytest.raises(Conflict, match="reference number FSEID-00001234 is already logged"):
        ledger.log(permission(project_id="other-2026"), steward="steve")
    with pytest.raises(Conflict, match="overlapping period"):
        ledger.log(permission(reference="FSEID-2"), steward="steve")
    assert counts(ledger) == before


def test_bad_amendments_change_nothing(ledger, permission):
    p = ledger.log(permission(), steward="steve")
    before = counts(ledger)
    for change, message in [
        ({"members": ["mallory"]}, "unknown hub user"),
        ({"datasets": ["nope"]}, "unknown restricted dataset"),
        ({"valid_until": "2026-10-01T00:00:00Z"}, "end before it starts"),
        ({}, "nothing to amend"),
        ({"members": ["alice"]}, "nothing would change"),
    ]:
        with pytest.raises(InvalidRequest, match=message):
            ledger.amend(p.id, {"reason": "test", **change}, steward="steve")
    with pytest.raises(InvalidRequest, match="reason"):
        ledger.amend(p.id, {"members": ["bob"]}, steward="steve")
    with pytest.raises(NotFound):
        ledger.amend(999, {"reason": "x" * 5, "members": ["bob"]}, steward="steve")
    assert counts(ledger) == before
    assert ledger.get(p.id).members == ("alice",)


def test_concurrent_changes_keep_the_chain(ledger, permission):
    errors = []

    def work(i):
        try:
            ledger.log(permission(project_id=f"proj-{i}", reference=f"R-{i}"), steward="steve")
            ledger.audit.append("hub", "server.start", f"server:alice/secure-proj-{i}", "ok")
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts(ledger) == (8, 16)
    assert ledger.audit.verify().ok


def test_upgrade_from_empty_and_again_keeps_records(db_url, restricted_root, permission):
    first = Ledger(db_url, restricted_root=restricted_root)
    first.log(permission(), steward="steve")
    first.engine.dispose()
    again = Ledger(db_url, restricted_root=restricted_root)  # runs upgrade head again
    assert [p.reference for p in again.list()] == ["FSEID-00001234"]
    with again.engine.connect() as c:
        assert c.execute(sa.text("SELECT version_num FROM hdss_ledger_version")).scalar() == "l0001"
        assert c.execute(sa.text("SELECT version_num FROM hdss_audit_version")).scalar() == "a0001"
    assert again.audit.verify().checked == 1
    again.engine.dispose()


def test_no_restricted_catalogue_means_no_grant(db_url, permission):
    ledger = Ledger(db_url)
    with pytest.raises(InvalidRequest, match="no restricted catalogue"):
        ledger.log(permission(), steward="steve")
    ledger.engine.dispose()
