"""University login through a real OIDC provider process, against a real hub.

Each test logs a person in as they would (the hub's "Sign in" button, the provider's
authorize form, the callback) and states what they get, or why they are refused.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.oidc.provider import login, query_param, replace_query, start_login

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def user_model(hub, name: str) -> dict | None:
    r = hub.api("GET", f"/users/{name}")
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def person(hub, provider, who: str, *groups: str) -> str:
    """``<prefix>-<who>``, known to the provider (again) with these groups; their name."""
    name = f"{hub.prefix}-{who}"
    provider.set_user(name, preferred_username=name, groups=list(groups))
    return name


def assert_clear_page(r, status: int, *phrases: str) -> None:
    """A refusal a person can read: the status, the phrases, no stack trace."""
    assert r.status_code == status, f"{r.status_code}: {r.text[:800]}"
    for phrase in phrases:
        assert phrase in r.text, f"{phrase!r} not on the page:\n{r.text[:3000]}"
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_student_lands_in_the_course_group_and_sees_only_course_profiles(hub, provider):
    name = person(hub, provider, "anna", "ku-hds-course-2026", "ku-all")
    session, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    model = user_model(hub, name)
    assert model["groups"] == ["students"]
    assert not model["admin"]
    form = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert form.status_code == 200
    assert 'value="course"' in form.text
    assert 'value="research"' not in form.text


def test_home_page_shows_data_mounts_and_the_students_profile(hub, provider):
    name = person(hub, provider, "bo", "ku-hds-course-2026")
    session, _ = login(hub.url, name)
    page = session.get(f"{hub.url}/hub/home", timeout=30)
    assert page.status_code == 200
    assert 'id="hdss-datasets"' in page.text
    assert "<code>/data/synthetic/dk-registers</code>" in page.text
    assert "read-only" in page.text
    assert "Course</strong> &mdash; 1 CPU, 2G memory" in page.text
    assert "Research</strong>" not in page.text


def test_researcher_is_offered_the_research_profile(hub, provider):
    name = person(hub, provider, "rita", "ku-hds-researchers")
    session, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    assert user_model(hub, name)["groups"] == ["researchers"]
    form = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert 'value="course"' in form.text and 'value="research"' in form.text


def test_steward_gets_the_steward_group_and_no_admin(hub, provider):
    name = person(hub, provider, "sofie", "ku-sds-data-stewards")
    _, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    model = user_model(hub, name)
    assert model["groups"] == ["stewards"]
    assert not model["admin"]


def test_admin_group_makes_a_hub_admin_and_leaving_it_revokes_admin(hub, provider):
    name = person(hub, provider, "ada", "ku-hds-admins")
    _, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    model = user_model(hub, name)
    assert model["admin"] is True and model["groups"] == ["admins"]
    person(hub, provider, "ada", "ku-hds-researchers")
    _, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    model = user_model(hub, name)
    assert model["admin"] is False and model["groups"] == ["researchers"]


def test_groups_follow_the_provider_at_each_login(hub, provider):
    name = person(hub, provider, "carl", "ku-hds-course-2026")
    login(hub.url, name)
    assert user_model(hub, name)["groups"] == ["students"]
    person(hub, provider, "carl", "ku-hds-researchers")
    login(hub.url, name)
    assert user_model(hub, name)["groups"] == ["researchers"]


def test_settings_groups_are_added_to_the_provider_groups(hub, provider):
    # The test hub's settings list <prefix>-res in the researchers group.
    name = person(hub, provider, "res", "ku-hds-course-2026")
    _, r = login(hub.url, name)
    assert r.status_code == 302, r.text[:800]
    assert user_model(hub, name)["groups"] == ["researchers", "students"]


def test_a_user_in_no_recognised_group_is_refused_with_a_clear_page(hub, provider):
    name = person(hub, provider, "paul", "ku-physics", "ku-all")
    session, r = login(hub.url, name)
    assert_clear_page(r, 403, "not in a group this sandbox serves", "ku-physics", "ask")
    assert user_model(hub, name) is None
    assert "Refusing" in hub.log_tail(200) and name in hub.log_tail(200)
    # Not logged in: the spawn page sends them back to the login page.
    spawn = session.get(f"{hub.url}/hub/spawn", timeout=30, allow_redirects=False)
    assert spawn.status_code == 302 and "/hub/login" in spawn.headers["Location"]


def test_a_user_without_the_username_claim_is_refused(hub, provider):
    name = f"{hub.prefix}-noname"
    provider.set_user(name, groups=["ku-hds-course-2026"])  # no preferred_username
    _, r = login(hub.url, name)
    assert_clear_page(r, 403, "did not say who you are", "preferred_username")
    assert user_model(hub, name) is None


def test_a_tampered_state_is_refused(hub, provider):
    name = person(hub, provider, "eve", "ku-hds-course-2026")
    session, callback = start_login(hub.url, name)
    forged = base64.urlsafe_b64encode(json.dumps({"state_id": "f" * 32}).encode()).decode()
    r = session.get(replace_query(callback, state=forged), timeout=30, allow_redirects=False)
    assert_clear_page(r, 400, "OAuth state mismatch")
    # Without the state cookie (another browser replaying the callback): refused too.
    r = session.__class__().get(callback, timeout=30, allow_redirects=False)
    assert_clear_page(r, 400, "OAuth state missing")
    assert user_model(hub, name) is None


def test_a_tampered_authorization_code_is_refused(hub, provider):
    name = person(hub, provider, "mallory", "ku-hds-course-2026")
    session, callback = start_login(hub.url, name)
    code = query_param(callback, "code")
    r = session.get(replace_query(callback, code=code[::-1]), timeout=30, allow_redirects=False)
    assert_clear_page(r, 403, "refused this login")
    assert user_model(hub, name) is None


def test_a_replayed_callback_is_refused(hub, provider):
    name = person(hub, provider, "trudy", "ku-hds-course-2026")
    session, callback = start_login(hub.url, name)
    assert session.get(callback, timeout=30, allow_redirects=False).status_code == 302
    r = session.get(callback, timeout=30, allow_redirects=False)
    assert r.status_code in (400, 403), r.text[:500]
    assert "Traceback" not in r.text


def test_provider_down_gives_a_clear_page_and_no_login(hub, provider):
    name = person(hub, provider, "dora", "ku-hds-course-2026")
    session, callback = start_login(hub.url, name)
    provider.stop()
    try:
        # Down between the provider's form and the callback: the code cannot be redeemed.
        r = session.get(callback, timeout=60, allow_redirects=False)
        assert_clear_page(r, 503, "does not answer", "Try again")
        # Down before the login starts: the button says so instead of a dead link.
        r = session.get(f"{hub.url}/hub/oauth_login", timeout=60, allow_redirects=False)
        assert_clear_page(r, 503, "does not answer", f"127.0.0.1:{provider.port}")
    finally:
        provider.start()
    assert user_model(hub, name) is None
    assert "OIDC provider unreachable" in hub.log_tail(200)
