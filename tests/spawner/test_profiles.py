import pytest
from hdss_spawner.profiles import choose, effective_groups, offered, parse_profiles
from tornado.web import HTTPError

RAW = {
    "course": {"cpu_limit": 1, "mem_limit": "2G", "groups": ["students", "researchers"]},
    "research": {"cpu_limit": 2, "mem_limit": "8G", "groups": ["researchers"]},
    "secure": {"cpu_limit": 2, "mem_limit": "8G", "groups": ["researchers"], "kind": "secure"},
}


@pytest.fixture
def profiles():
    return parse_profiles(RAW)


def test_student_is_offered_only_the_course(profiles):
    assert [p.name for p in offered(profiles, ["students"])] == ["course"]


def test_researcher_is_offered_both_sandbox_profiles_not_secure(profiles):
    assert [p.name for p in offered(profiles, ["researchers"])] == ["course", "research"]


def test_nobody_outside_the_groups_is_offered_anything(profiles):
    assert offered(profiles, ["visitors"]) == []
    assert offered(profiles, []) == []


def test_student_picking_research_gets_403_naming_the_groups(profiles):
    with pytest.raises(HTTPError) as e:
        choose(profiles, ["students"], "research")
    assert e.value.status_code == 403
    assert "researchers" in e.value.log_message
    assert "administrator" in e.value.log_message


def test_unknown_or_secure_profile_is_refused(profiles):
    for name in ("gpu", "secure"):
        with pytest.raises(HTTPError) as e:
            choose(profiles, ["researchers"], name)
        assert e.value.status_code == 403


def test_no_group_no_server(profiles):
    with pytest.raises(HTTPError) as e:
        choose(profiles, [], None)
    assert e.value.status_code == 403


def test_default_is_the_first_offered(profiles):
    assert choose(profiles, ["researchers"], None).name == "course"
    assert choose(profiles, ["researchers"], "research").mem_limit == "8G"


def test_effective_groups_fall_back_to_defaults():
    assert effective_groups([], ["students"]) == ["students"]
    assert effective_groups(["researchers"], ["students"]) == ["researchers"]


def test_limits_text(profiles):
    assert profiles["course"].limits == "1 CPU, 2G memory"
    assert profiles["research"].limits == "2 CPUs, 8G memory"
