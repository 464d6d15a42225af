"""Courses as data: validation that names the course, the calendar with a controlled clock,
extensions (bounded, persisted, audited), the materials merge rule, and a hub that will
not start with a bad course."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from pathlib import Path

import pytest
import yaml
from hdss_hub.audit import AuditLog
from hdss_hub.courses import CourseError, course_of, load
from hdss_hub.courses.gate import CourseGate
from hdss_hub.courses.hubconfig import prepare_courses
from hdss_hub.courses.lifecycle import keeps_account
from hdss_hub.courses.materials import folder_digest, plan_merge, prepare, sha256
from hdss_hub.courses.model import check, parse
from hdss_hub.courses.store import CourseStore
from tornado.web import HTTPError

from tests.hub.test_startup import start_hub

START, END = dt.date(2027, 2, 1), dt.date(2027, 3, 12)


def settings_with(tmp_path: Path, **course) -> dict:
    base = {
        "group": "course-epi",
        "profiles": ["course"],
        "start": START,
        "end": END,
        "instructors": ["teacher1"],
    }
    return {
        "hub": {"state_dir": str(tmp_path / "state")},
        "groups": {"course-epi": [], "course-r": [], "students": []},
        "profiles": {
            "course": {"cpu_limit": 1, "mem_limit": "2G", "groups": ["students"]},
            "secure": {"cpu_limit": 1, "mem_limit": "2G", "groups": [], "kind": "secure"},
        },
        "courses": {"epi": {**base, **course}},
    }


def git_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "materials-repo"
    repo.mkdir()
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "01.ipynb").write_text('{"cells": []}')
    (repo / "README.md").write_text("outside the subdir")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", *env_args, "-C", str(repo), "commit", "-qm", "v1"], check=True)
    rev = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return repo, rev


# -- validation ---------------------------------------------------------------------------


def test_a_valid_course_loads_and_names_its_group(tmp_path):
    settings = settings_with(tmp_path)
    courses = load(settings)
    check(settings, courses)
    assert [c.name for c in courses] == ["epi"]
    assert course_of(courses, ["students", "course-epi"]).name == "epi"
    assert course_of(courses, ["students"]) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"start": END, "end": START}, "course epi: its end date 2027-02-01 is before its start"),
        ({"group": "nobody"}, "course epi: group 'nobody' does not exist"),
        ({"profiles": ["gpu"]}, "course epi: profile 'gpu' does not exist"),
        ({"profiles": ["secure"]}, "course epi: profile 'secure' is a secure profile"),
        ({"start": "someday"}, "course epi: start: Input should be a valid date"),
        ({"materials": {"git": "x"}}, "course epi: materials: Value error, a git repository needs"),
    ],
)
def test_a_bad_course_is_refused_naming_the_course_and_the_problem(tmp_path, change, expected):
    settings = settings_with(tmp_path, **change)
    with pytest.raises(CourseError) as e:
        check(settings, load(settings))
    assert expected in str(e.value)


def test_materials_that_cannot_be_read_are_refused(tmp_path):
    repo, rev = git_repo(tmp_path)
    cache = tmp_path / "cache"
    missing = parse("epi", {**settings_with(tmp_path)["courses"]["epi"],
                            "materials": {"git": str(tmp_path / "nope"), "revision": rev}})  # fmt: skip
    with pytest.raises(CourseError, match=r"course epi: the materials repository .*nope cannot"):
        prepare(missing, cache)
    no_rev = parse("epi", {**settings_with(tmp_path)["courses"]["epi"],
                           "materials": {"git": str(repo), "revision": "f" * 40}})  # fmt: skip
    with pytest.raises(CourseError, match=r"course epi: revision f{40} is not in"):
        prepare(no_rev, cache)
    no_folder = parse("epi", {**settings_with(tmp_path)["courses"]["epi"],
                              "materials": {"folder": str(tmp_path / "none")}})  # fmt: skip
    with pytest.raises(CourseError, match="course epi: the materials folder .* does not exist"):
        prepare(no_folder, cache)


def test_git_materials_are_exported_at_the_pinned_revision(tmp_path):
    repo, rev = git_repo(tmp_path)
    settings = settings_with(
        tmp_path, materials={"git": str(repo), "revision": rev, "subdir": "notebooks"}
    )
    (repo / "notebooks" / "01.ipynb").write_text("changed after the pin, not committed")
    courses, snapshots = prepare_courses(settings)
    snap = snapshots["epi"]
    assert snap.name == rev
    assert (snap / "01.ipynb").read_text() == '{"cells": []}'
    assert not (snap / "README.md").exists()


def test_a_folder_is_pinned_by_its_digest(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")
    digest = folder_digest(folder)
    settings = settings_with(tmp_path, materials={"folder": str(folder), "digest": digest})
    assert prepare_courses(settings)[1]["epi"].name == digest  # positive control
    (folder / "a.ipynb").write_text('{"edited": 1}')
    with pytest.raises(CourseError, match="course epi: the materials folder .* changed"):
        prepare_courses(settings)


def test_the_hub_does_not_start_with_reversed_course_dates(tmp_path):
    result = start_hub(
        tmp_path,
        f"hub:\n  state_dir: {tmp_path}/state\ngroups:\n  course-epi: []\n"
        "courses:\n  epi:\n    group: course-epi\n    profiles: [course]\n"
        "    start: 2027-03-01\n    end: 2027-02-01\n",
    )
    assert result.returncode != 0
    assert "hdss: the hub cannot start: course epi: its end date" in result.stderr
    assert "Traceback" not in result.stderr


# -- the calendar -------------------------------------------------------------------------


class Clock:
    def __init__(self, day: dt.date) -> None:
        self.now = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, day: dt.date) -> None:
        self.now = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def gate(tmp_path):
    settings = settings_with(tmp_path)
    settings["courses"]["r"] = {
        "group": "course-r",
        "profiles": ["course"],
        "start": dt.date(2027, 1, 1),
        "end": dt.date(2027, 6, 30),
        "max_extension_days": 3,
    }
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    g = CourseGate(
        load(settings),
        CourseStore(tmp_path / "state.json"),
        audit=audit.append,
        clock=Clock(dt.date(2027, 1, 31)),
    )
    g.audit_log = audit
    return g


def refusal(gate, user, groups, profile="course"):
    return asyncio.run(gate.refusal(user, groups, profile))


def test_abuse_a_student_cannot_start_before_the_start_date(gate):
    msg = refusal(gate, "stu1", ["course-epi"])
    assert "Your course epi starts on Monday 01 February 2027" in msg
    assert "You can start your server from then" in msg
    entry = gate.audit_log.latest("course.spawn", "user:stu1", "denied")
    assert entry is not None and entry.details["profile"] == "course"
    gate.clock.set(START)  # positive control: from the start date they can
    assert refusal(gate, "stu1", ["course-epi"]) == ""
    gate.clock.set(END)
    assert refusal(gate, "stu1", ["course-epi"]) == ""
    gate.clock.set(END + dt.timedelta(days=1))
    assert "Your course epi ended on Friday 12 March 2027" in refusal(gate, "stu1", ["course-epi"])


def test_profiles_no_course_of_theirs_lists_are_not_the_calendars_business(gate):
    assert refusal(gate, "res1", ["course-epi", "researchers"], profile="research") == ""
    assert refusal(gate, "other", ["students"]) == ""


def test_home_rows_say_when_a_course_opens(gate):
    rows = gate.home_rows("stu1", ["course-epi"])
    assert rows[0]["state"] == "upcoming"
    assert "you can start your server then" in rows[0]["note"]


def test_an_extension_is_bounded_persisted_audited_and_opens_the_days(gate, tmp_path):
    gate.clock.set(END + dt.timedelta(days=2))
    assert refusal(gate, "stu1", ["course-epi"]) != ""
    with pytest.raises(CourseError, match="between 0 and 14"):
        gate.extend("teacher1", "epi", "stu1", 15, {"stu1"})
    with pytest.raises(CourseError, match="stu9 is not a member of epi"):
        gate.extend("teacher1", "epi", "stu9", 3, {"stu1"})
    gate.extend("teacher1", "epi", "stu1", 5, {"stu1"})
    again = CourseGate(
        gate.courses.values(), CourseStore(tmp_path / "state.json"), clock=gate.clock
    )
    assert again.store.extra_days("epi", "stu1") == 5  # persisted
    assert refusal(again, "stu1", ["course-epi"]) == ""
    assert refusal(again, "stu2", ["course-epi"]) != ""  # only the one student
    entry = gate.audit_log.latest("course.extend", "course:epi/stu1", "ok")
    assert entry.actor == "teacher1" and entry.details["days"] == 5
    assert entry.details["until"] == "2027-03-17"
    assert gate.audit_log.verify().ok


def test_abuse_a_student_in_another_active_course_keeps_their_account(gate):
    today = END + dt.timedelta(days=1)
    epi, r = gate.courses["epi"], gate.courses["r"]
    assert (
        keeps_account("stu1", epi, [epi, r], today, {})
        == "member of the course r (until 2027-06-30)"
    )
    assert keeps_account("stu2", epi, [epi], today, {}) == ""  # positive control
    assert keeps_account("stu2", epi, [epi], today, {"epi": 2}).startswith("extension")


def test_a_closed_account_cannot_log_in_unless_an_open_course_covers_it(gate):
    with gate.store.update() as data:
        data["disabled"]["stu1"] = {"course": "epi", "end": "2027-03-12"}
    gate.clock.set(dt.date(2027, 7, 1))
    with pytest.raises(HTTPError) as e:
        gate.post_auth_hook(None, None, {"name": "stu1", "groups": ["course-epi"]})
    assert e.value.status_code == 403 and "closed when the course epi ended" in e.value.log_message
    assert "closed when the course epi ended" in refusal(gate, "stu1", ["course-epi"])
    gate.clock.set(dt.date(2027, 6, 1))  # positive control: course r is open for them
    model = {"name": "stu1", "groups": ["course-r"]}
    assert gate.post_auth_hook(None, None, model) is model
    assert gate.post_auth_hook(None, None, {"name": "stu2"}) == {"name": "stu2"}


def test_replacing_the_modules_utcnow_sets_the_clock_of_every_default_gate(tmp_path, monkeypatch):
    """What a rehearsal (hub.extra_config_dir) does: the spawner's copies follow too."""
    import copy

    from hdss_hub.courses import gate as gate_module

    made = CourseGate(load(settings_with(tmp_path)), CourseStore(tmp_path / "state.json"))
    spawner_copy = copy.deepcopy(made)
    assert made.today() == dt.datetime.now(dt.UTC).date()  # control: the real time
    monkeypatch.setattr(gate_module, "utcnow", lambda: dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC))
    assert made.today() == spawner_copy.today() == START
    assert asyncio.run(spawner_copy.refusal("stu1", ["course-epi"], "course")) == ""


# -- materials ------------------------------------------------------------------------------


def test_merge_copies_new_files_updates_untouched_ones_and_keeps_edits():
    v1 = {"a.ipynb": b"a1", "b.ipynb": b"b1"}
    first = plan_merge(v1, home={}, delivered={})
    assert first.write == v1
    v2 = {"a.ipynb": b"a2", "b.ipynb": b"b2", "c.ipynb": b"c2"}
    home = {"a.ipynb": sha256(b"a1"), "b.ipynb": sha256(b"my edit")}
    second = plan_merge(v2, home=home, delivered=first.delivered)
    assert second.write == {"a.ipynb": b"a2", "c.ipynb": b"c2"}
    assert second.kept == ["b.ipynb"]
    assert second.delivered["a.ipynb"] == sha256(b"a2")
    assert second.delivered["b.ipynb"] == sha256(b"b1")  # still what we last delivered


# -- hdss-course end from its daily timer --------------------------------------------------


def test_end_without_courses_is_a_quiet_success(tmp_path, monkeypatch, capsys):
    """The Ansible timer runs hdss-course end daily on every host, with courses or without."""
    from hdss_hub.courses import cli

    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump({"hub": {"state_dir": str(tmp_path / "state")}}))
    monkeypatch.setenv("HDSS_SETTINGS", str(settings))
    assert cli.main(["end"]) == 0
    assert "nothing to end" in capsys.readouterr().out


def test_end_before_the_hub_made_its_token_says_to_start_the_hub(tmp_path, monkeypatch, capsys):
    from hdss_hub.courses import cli

    settings = tmp_path / "settings.yaml"
    settings.write_text(yaml.safe_dump(settings_with(tmp_path)))
    monkeypatch.setenv("HDSS_SETTINGS", str(settings))
    assert cli.main(["end"]) == 2
    err = capsys.readouterr().err
    assert "course-api-token is missing" in err and "start (or restart) the hub" in err, err
