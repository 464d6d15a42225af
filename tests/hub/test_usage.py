"""Usage figures, home quotas and who may see them: the logic, without a hub."""

from __future__ import annotations

import json
import stat

import pytest
from hdss_hub import configure, pages, usage, usagepages
from hdss_hub.settings import load_settings
from traitlets.config import Config

MiB = 1024**2
GiB = 1024**3


@pytest.fixture
def settings(tmp_path):
    s = load_settings(None, tmp_path)
    s["hub"]["state_dir"] = str(tmp_path / "state")
    return s


def test_sizes_parse_in_binary_units_and_bad_ones_say_how():
    assert usage.parse_size("5G") == 5 * GiB
    assert usage.parse_size("512M") == 512 * MiB
    assert usage.parse_size("100") == 100
    with pytest.raises(ValueError, match="e.g. 500M"):
        usage.parse_size("5 gigs")


def test_the_quota_is_the_largest_of_the_users_sandbox_profiles(settings):
    profiles = settings["profiles"]  # course 5G (students...), research 20G (researchers)
    assert usage.quota_for(profiles, ["students"]) == 5 * GiB
    assert usage.quota_for(profiles, ["researchers"]) == 20 * GiB
    assert usage.quota_for(profiles, ["nobody"]) is None
    no_quota = {
        k: {kk: vv for kk, vv in v.items() if kk != "home_quota"} for k, v in profiles.items()
    }
    assert usage.quota_for(no_quota, ["students"]) is None


@pytest.mark.parametrize(
    ("used", "level"), [(None, ""), (10 * MiB, ""), (95 * MiB, "near"), (101 * MiB, "over")]
)
def test_home_status_warns_near_and_over_the_quota(used, level):
    status = usage.home_status(used, 100 * MiB, 0.9)
    assert status.level == level
    if level == "over":
        assert "still start your server" in status.message and "100.0 MiB" in status.message
    if level == "near":
        assert "of its 100.0 MiB quota" in status.message
    if not level:
        assert status.message == ""


def test_fold_adds_cpu_and_server_time_since_the_last_sample_and_keeps_the_peak():
    data = usage.empty()
    s1 = usage.Sample("c1", "ann", started_at=1000.0, cpu_ns=2 * 10**9, memory_peak=80 * MiB)
    usage.fold(data, [s1], now=1060.0)
    ann = data["users"]["ann"]
    assert ann["cpu_seconds"] == 2.0 and ann["server_seconds"] == 60.0
    s2 = usage.Sample("c1", "ann", started_at=1000.0, cpu_ns=5 * 10**9, memory_peak=60 * MiB)
    usage.fold(data, [s2], now=1120.0)
    assert ann["cpu_seconds"] == 5.0 and ann["server_seconds"] == 120.0
    assert ann["memory_peak"] == 80 * MiB  # the peak stays
    usage.fold(data, [], now=1180.0)  # the server stopped: totals stay, the container goes
    assert data["containers"] == {} and ann["cpu_seconds"] == 5.0
    s3 = usage.Sample("c2", "ann", started_at=1200.0, cpu_ns=1 * 10**9, memory_peak=90 * MiB)
    usage.fold(data, [s3], now=1230.0)  # a new server counts from its own start
    assert ann["cpu_seconds"] == 6.0 and ann["server_seconds"] == 150.0
    assert ann["memory_peak"] == 90 * MiB


def test_the_store_is_written_atomically_and_privately(tmp_path):
    store = usage.UsageStore(tmp_path / "usage.json")
    usage.fold_homes(store.data, {"ann": 3 * MiB}, now=5.0)
    store.save()
    assert stat.S_IMODE((tmp_path / "usage.json").stat().st_mode) == 0o600
    assert (
        json.loads((tmp_path / "usage.json").read_text())["users"]["ann"]["home_bytes"] == 3 * MiB
    )
    assert [p.name for p in tmp_path.iterdir()] == ["usage.json"]  # no temporary file left
    assert usage.UsageStore(tmp_path / "usage.json").user("ann")["home_bytes"] == 3 * MiB
    (tmp_path / "usage.json").write_text("{not json")
    assert usage.UsageStore(tmp_path / "usage.json").data == usage.empty()


U = {"instructor_group": "instructors", "not_courses": ["students", "stewards"]}


def test_admins_see_every_group_instructors_their_courses_students_nothing():
    groups = ["course-a", "course-b", "instructors", "students"]
    assert usagepages.visible_groups(True, [], groups, U) == [*sorted(groups), "(no group)"]
    assert usagepages.visible_groups(False, ["instructors", "course-a", "students"], groups, U) == [
        "course-a"
    ]
    assert usagepages.visible_groups(False, ["students", "course-a"], groups, U) is None
    assert usagepages.visible_groups(False, [], groups, U) is None
    # An instructor named by a course in the settings sees that course's group.
    assert usagepages.visible_groups(False, ["students"], groups, U, ["course-b"]) == ["course-b"]
    both = usagepages.visible_groups(False, ["instructors", "course-a"], groups, U, ["course-b"])
    assert both == ["course-a", "course-b"]


def test_rows_and_csv_carry_the_figures_per_group(settings, tmp_path):
    store = usage.UsageStore(tmp_path / "u.json")
    usage.fold(store.data, [usage.Sample("c", "ann", 0.0, 36 * 10**11, 100 * MiB)], now=7200.0)
    usage.fold_homes(store.data, {"ann": 8 * MiB}, now=1.0)
    members = {"course-a": ["ann"], "course-b": ["bob"]}
    groups_of = {"ann": ["course-a", "students"], "bob": ["course-b"], "eve": []}
    rows = usagepages.usage_rows(
        store, members, groups_of, settings["profiles"], ["course-a", "(no group)"]
    )
    assert [r["user"] for r in rows] == ["ann", "eve"]  # bob's group is not shown
    assert rows[0] == {
        "group": "course-a",
        "user": "ann",
        "cpu_hours": 1.0,
        "peak_memory_mib": 100.0,
        "home_mib": 8.0,
        "home_quota_mib": 5120.0,
        "server_hours": 2.0,
    }
    text = usagepages.csv_text(rows)
    assert text.splitlines()[0] == ",".join(usagepages.COLUMNS)
    assert text.splitlines()[1] == "course-a,ann,1.0,100.0,8.0,5120.0,2.0"


def test_home_view_and_the_spawn_note_over_the_quota(settings):
    settings["profiles"]["course"]["home_quota"] = "10M"
    store = pages.usage_store(settings)
    usage.fold_homes(store.data, {"ann": 12 * MiB, "bob": 9_500_000, "cy": 1 * MiB}, now=0.0)
    ann = usagepages.home_view(store, settings, "ann", ["students"])
    assert ann["level"] == "over" and ann["used"] == "12.0 MiB" and ann["quota"] == "10.0 MiB"
    assert usagepages.home_view(store, settings, "bob", ["students"])["level"] == "near"
    assert usagepages.home_view(store, settings, "cy", ["students"])["percent"] == 10
    note = pages.home_notice(settings)
    assert "over its quota" in note("ann", ["students"])
    assert note("bob", ["students"]) == "" and note("cy", ["students"]) == ""


def test_capacity_and_usage_settings_reach_the_hub(settings, monkeypatch):
    c = Config()
    configure.apply_spawner(settings, c)
    configure.apply_capacity(settings, c)
    pages.apply_usage(settings, c)
    assert c.JupyterHub.concurrent_spawn_limit == 200
    monkeypatch.setattr(configure, "host_memory", lambda: 24 * GiB)
    c2 = Config()
    configure.apply_capacity(settings, c2)
    assert c2.JupyterHub.active_server_limit == 192  # 24 GiB / 128 MiB
    assert c.SandboxSpawner.starting_at_once == 0  # one per core
    assert c.SandboxSpawner.start_timeout == 120 + 600  # the wait in line counts
    assert [route for route, _ in c.JupyterHub.extra_handlers] == [r"/usage(\.csv)?"]
    assert c.SandboxSpawner.home_notice("nobody", ["students"]) == ""
    settings["hub"]["active_server_limit"] = 40
    c3 = Config()
    configure.apply_capacity(settings, c3)
    assert c3.JupyterHub.active_server_limit == 40


def test_usage_off_adds_no_page(settings):
    settings["usage"]["enabled"] = False
    c = Config()
    pages.apply_usage(settings, c)
    assert "extra_handlers" not in c.JupyterHub
