"""The ledger service over real HTTP on 127.0.0.1: REST API, pages, authorisation, denials."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from .helpers import PREFIX, as_user


def stored(ledger) -> int:
    with ledger.engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM ledger_permissions")).scalar()


def denials(ledger) -> list:
    return list(ledger.audit.entries(action="access.denied"))


def test_openapi_is_served(service):
    r = requests.get(f"{service.api}/openapi.json", timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": PREFIX + "api"}]
    assert {
        "/permissions",
        "/permissions/{permission_id}",
        "/permissions/{permission_id}/revoke",
    } <= set(doc["paths"])


def test_anonymous_callers_get_nothing(service):
    r = requests.get(f"{service.api}/permissions", timeout=10)
    assert r.status_code == 403 and "authentication required" in r.json()["message"]
    r = requests.get(f"{service.url}{PREFIX}", timeout=10, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


@pytest.mark.parametrize("steward", ["steve", "sam"])  # by group, by scope
def test_steward_logs_and_researcher_sees_only_own(service, permission, steward):
    r = requests.post(
        f"{service.api}/permissions",
        json=permission(members=["alice"]),
        headers=as_user(steward),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["logged_by"] == steward
    mine = requests.get(f"{service.api}/permissions", headers=as_user("alice"), timeout=10)
    assert [p["id"] for p in mine.json()] == [pid]
    for outsider in ("bob", "stu"):
        r = requests.get(f"{service.api}/permissions", headers=as_user(outsider), timeout=10)
        assert r.status_code == 200 and r.json() == []
        r = requests.get(f"{service.api}/permissions/{pid}", headers=as_user(outsider), timeout=10)
        assert r.status_code == 404 and r.json()["message"]
    r = requests.get(f"{service.api}/permissions/{pid}", headers=as_user("audrey"), timeout=10)
    assert r.status_code == 200  # auditors read everything
    assert [e.actor for e in denials(service.ledger)] == ["bob", "stu"]


@pytest.mark.parametrize("caller", ["alice", "stu", "audrey"])
def test_non_stewards_cannot_change_and_are_audited(service, permission, caller):
    p = service.ledger.log(permission(), steward="steve")
    calls = [
        ("post", "/permissions", permission(reference="X-1", project_id="x-1")),
        ("patch", f"/permissions/{p.id}", {"reason": "mine now", "members": ["alice", "bob"]}),
        ("post", f"/permissions/{p.id}/revoke", {"reason": "I say so"}),
    ]
    for method, path, body in calls:
        r = requests.request(
            method, f"{service.api}{path}", json=body, headers=as_user(caller), timeout=10
        )
        assert r.status_code == 403 and "data stewards" in r.json()["message"]
    assert service.ledger.get(p.id).members == ("alice",) and stored(service.ledger) == 1
    assert [(e.actor, e.outcome) for e in denials(service.ledger)] == [(caller, "denied")] * 3


def test_amend_and_revoke_over_the_api(service, permission):
    p = service.ledger.log(permission(), steward="steve")
    r = requests.patch(
        f"{service.api}/permissions/{p.id}",
        headers=as_user("steve"),
        json={"reason": "bob joins", "members": ["alice", "bob"]},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["members"] == ["alice", "bob"]
    r = requests.post(
        f"{service.api}/permissions/{p.id}/revoke",
        headers=as_user("steve"),
        json={"reason": "closed"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = requests.get(f"{service.api}/audit/verify", headers=as_user("steve"), timeout=10)
    assert r.json()["ok"] is True and r.json()["checked"] == 3
    r = requests.get(
        f"{service.api}/audit", headers=as_user("steve"), params={"since": 2}, timeout=10
    )
    assert [e["action"] for e in r.json()] == ["permission.amend", "permission.revoke"]
    r = requests.get(f"{service.api}/audit", headers=as_user("alice"), timeout=10)
    assert r.status_code == 403


BAD = [
    ({"datasets": ["cancer"]}, 422, "unknown restricted dataset"),
    ({"datasets": ["../lpr_adm"]}, 422, "never a path"),
    ({"members": ["mallory"]}, 422, "unknown hub user"),
    ({"valid_until": "2026-10-01T00:00:00Z"}, 422, "before it starts"),
]


@pytest.mark.parametrize(("over", "status", "message"), BAD, ids=[m for *_, m in BAD])
def test_bad_requests_are_refused_with_a_message(service, permission, over, status, message):
    r = requests.post(
        f"{service.api}/permissions", json=permission(**over), headers=as_user("steve"), timeout=10
    )
    assert r.status_code == status and message in r.json()["message"]
    assert stored(service.ledger) == 0 and list(service.ledger.audit.entries()) == []


def test_duplicate_reference_and_malformed_bodies(service, permission):
    ok = requests.post(
        f"{service.api}/permissions", json=permission(), headers=as_user("steve"), timeout=10
    )
    assert ok.status_code == 201
    dup = requests.post(
        f"{service.api}/permissions",
        json=permission(project_id="other"),
        headers=as_user("steve"),
        timeout=10,
    )
    assert dup.status_code == 409 and "already logged" in dup.json()["message"]
    junk = requests.post(
        f"{service.api}/permissions", data=b"{not json", headers=as_user("steve"), timeout=10
    )
    assert junk.status_code == 400 and "not valid JSON" in junk.json()["message"]
    arr = requests.post(
        f"{service.api}/permissions", json=[1, 2], headers=as_user("steve"), timeout=10
    )
    assert arr.status_code == 422 and "JSON object" in arr.json()["message"]
    text = requests.post(
        f"{service.api}/permissions/1/revoke", json="because", headers=as_user("steve"), timeout=10
    )
    assert text.status_code == 422 and service.ledger.get(1).state == "active"
    huge = requests.get(
        f"{service.api}/permissions/99999999999", headers=as_user("steve"), timeout=10
    )
    assert huge.status_code == 404 and huge.json()["message"]
    assert stored(service.ledger) == 1


def test_pages_for_stewards_and_researchers(service, permission):
    url = f"{service.url}{PREFIX}"
    form = {
        "project_id": "card-2026",
        "members": "alice, bob",
        "datasets": "lmdb",
        "authority": "Danmarks Statistik",
        "reference": "DST-707",
        "legal_basis": "Research under GDPR art. 9(2)(j)",
        "valid_from": "2026-11-01",
        "valid_until": "2027-05-01",
    }
    r = requests.post(
        f"{url}permissions/new",
        data=form,
        headers=as_user("steve"),
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302, r.text
    detail = r.headers["Location"]
    bad = requests.post(
        f"{url}permissions/new",
        data={**form, "reference": "DST-708", "datasets": "nope", "project_id": "z1"},
        headers=as_user("steve"),
        timeout=10,
    )
    assert bad.status_code == 422 and "unknown restricted dataset" in bad.text
    page = requests.get(f"{service.url}{detail}", headers=as_user("steve"), timeout=10)
    assert "card-2026" in page.text and "Revoke" in page.text
    pid = detail.rstrip("/").rsplit("/", 1)[1]
    r = requests.post(
        f"{url}permissions/{pid}/amend",
        headers=as_user("steve"),
        timeout=10,
        data={"members": "alice", "reason": "bob left the project"},
    )
    assert r.status_code == 200 and service.ledger.get(int(pid)).members == ("alice",)
    r = requests.get(url, headers=as_user("bob"), timeout=10)
    assert "card-2026" not in r.text and "not a member" in r.text
    r = requests.get(url, headers=as_user("alice"), timeout=10)
    assert "card-2026" in r.text and "Log a permission" not in r.text
    r = requests.get(f"{url}audit", headers=as_user("alice"), timeout=10)
    assert r.status_code == 403
    r = requests.post(
        f"{url}permissions/{pid}/revoke",
        headers=as_user("steve"),
        timeout=10,
        data={"reason": "ethics approval withdrawn"},
    )
    assert r.status_code == 200 and service.ledger.get(int(pid)).state == "revoked"
    r = requests.get(f"{url}audit", headers=as_user("steve"), timeout=10)
    assert "audit log intact" in r.text and "ethics approval withdrawn" in r.text
