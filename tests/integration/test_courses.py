"""A course's whole lifecycle on a real hub, proxy and engine, with a clock the test sets.

The hub's course clock is moved through the escape hatch (hub.extra_config_dir): a file
in the hub's folder holds the time the CourseGate reads, so the same student is refused
before the start date and starts once the clock reaches it. ``hdss-course end --now``
ends the course as of the day after its end.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import docker.errors
import pytest
import requests
from hdss_common import naming
from hdss_hub.audit import AuditLog
from hdss_hub.courses import end as course_end
from hdss_hub.courses.archive import Archive, file_sha256, verify
from hdss_hub.courses.materials import sync_into_volume
from hdss_hub.ledger.hubconfig import audit_anchor, db_url
from hdss_hub.settings import load_settings

from tests.conftest import PROJECT_DIR, VENV_BIN, unique_prefix
from tests.integration.fixtures import IMAGE
from tests.integration.hubproc import running_hub

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TODAY = dt.datetime.now(dt.UTC).date()
NOW_START, NOW_END = TODAY - dt.timedelta(days=5), TODAY + dt.timedelta(days=20)
FUT_START = TODAY + dt.timedelta(days=10)
HOME = "/home/jovyan"


def git(*args: str, cwd: Path) -> str:
    cfg = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    return subprocess.run(
        ["git", *cfg, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def materials(tmp_path_factory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("materials")
    git("init", "-q", ".", cwd=repo)
    (repo / "nb").mkdir()
    (repo / "nb" / "01_intro.ipynb").write_text('{"cells": [], "v": 1}')
    git("add", ".", cwd=repo)
    git("commit", "-qm", "v1", cwd=repo)
    pinned = git("rev-parse", "HEAD", cwd=repo)
    # A later commit the course does not pin: the students must not get it.
    (repo / "nb" / "01_intro.ipynb").write_text('{"cells": [], "v": 2}')
    (repo / "nb" / "02_later.ipynb").write_text('{"cells": []}')
    git("add", ".", cwd=repo)
    git("commit", "-qm", "v2", cwd=repo)
    return repo, pinned


@pytest.fixture(scope="module")
def course_hub(engine, synthetic_root, tmp_path_factory, materials):
    workdir = tmp_path_factory.mktemp("course-hub")
    prefix = unique_prefix("course")
    u = {k: f"{prefix}-{k}" for k in ("fut", "stu", "two", "ext", "brk", "teach", "teach2")}
    repo, rev = materials
    clock_file = workdir / "course-clock"
    (workdir / "config.d").mkdir()
    (workdir / "config.d" / "test_course_clock.py").write_text(
        "import datetime as dt\nfrom pathlib import Path\n"
        "import hdss_hub.courses.gate\n"
        f"_file = Path({str(clock_file)!r})\n"
        "def _clock():\n"
        "    if _file.exists():\n"
        "        return dt.datetime.fromisoformat(_file.read_text().strip())\n"
        "    return dt.datetime.now(dt.UTC)\n"
        "hdss_hub.courses.gate.utcnow = _clock  # the course clock of this hub\n"
    )
    common = {"profiles": ["course"], "max_extension_days": 5}
    extra = {
        "groups": {
            "course-fut": [u["fut"]],
            "course-now": [u["stu"], u["two"], u["ext"]],
            "course-later": [u["two"]],
            "course-brk": [u["brk"]],
        },
        "courses": {
            "fut": {
                **common,
                "group": "course-fut",
                "start": FUT_START,
                "end": FUT_START + dt.timedelta(days=30),
                "instructors": [u["teach2"]],
            },
            "now": {
                **common,
                "group": "course-now",
                "start": NOW_START,
                "end": NOW_END,
                "instructors": [u["teach"]],
                "materials": {"git": str(repo), "revision": rev, "subdir": "nb"},
            },
            "later": {
                **common,
                "group": "course-later",
                "start": NOW_START,
                "end": NOW_END + dt.timedelta(days=60),
            },
            "brk": {
                **common,
                "group": "course-brk",
                "start": TODAY - dt.timedelta(days=20),
                "end": TODAY - dt.timedelta(days=1),
            },
        },  # fmt: skip
    }
    yield from running_hub(
        engine, workdir, prefix, synthetic_root, extra=extra, users=u, clock_file=clock_file
    )


def set_clock(hub, day: dt.date | None) -> None:
    if day is None:
        hub.clock_file.unlink(missing_ok=True)
    else:
        hub.clock_file.write_text(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC).isoformat())


def login(hub, user: str) -> requests.Session:
    """A browser session of ``user`` through the hub's login form."""
    session = requests.Session()
    form = session.get(f"{hub.url}/hub/login", timeout=30).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    session.login_response = session.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": hub.password(user), "_xsrf": xsrf},
        timeout=30,
        allow_redirects=False,
    )
    return session


SESSIONS: dict[str, requests.Session] = {}


def page(hub, path: str, user: str, method: str = "GET", **kwargs) -> requests.Response:
    """``/hub/<path>`` in ``user``'s logged-in browser session (XSRF token sent on POST)."""
    if user not in SESSIONS:
        SESSIONS[user] = login(hub, user)
        assert SESSIONS[user].login_response.status_code == 302
    session = SESSIONS[user]
    headers = {"X-XSRFToken": session.cookies.get("_xsrf", "")} if method == "POST" else {}
    return session.request(
        method,
        f"{hub.url}/hub/{path}",
        headers=headers,
        timeout=60,
        allow_redirects=False,
        **kwargs,
    )


def run_in(engine, volume: str, cmd: str, name: str) -> str:
    out = engine.containers.run(
        IMAGE,
        ["sh", "-c", cmd],
        name=name,
        user="1000:100",
        network_disabled=True,
        volumes={volume: {"bind": HOME, "mode": "rw"}},
        remove=True,
    )
    return out.decode().strip()


def audit_log(hub) -> AuditLog:
    settings = load_settings(hub.settings_path, hub.workdir)
    return AuditLog(db_url(settings), migrate=False, anchor=audit_anchor(settings))


@pytest.mark.abuse
def test_abuse_a_student_cannot_start_before_the_start_date(course_hub):
    hub, fut = course_hub, course_hub.users["fut"]
    hub.ensure_user(fut)
    r = hub.spawn(fut, profile="course")  # the API, not only the page, refuses
    assert r.status_code == 403, r.text
    assert f"starts on {FUT_START:%A %d %B %Y}" in r.json()["message"]
    assert hub.server_state(fut) is None
    refused = audit_log(hub).latest("course.spawn", f"user:{fut}", "denied")
    assert refused is not None and refused.details["profile"] == "course"
    home = page(hub, "home", fut)
    assert f"starts on {FUT_START:%A %d %B %Y}; you can start your server then" in home.text
    set_clock(hub, FUT_START)  # positive control: on the start date the same student can
    try:
        r = hub.spawn(fut, profile="course")
        assert r.status_code in (201, 202), r.text
        hub.wait_ready(fut)
        hub.stop_server(fut)
    finally:
        set_clock(hub, None)


def in_server(engine, hub, user: str, cmd: str) -> str:
    container = engine.containers.get(hub.container_name(user))
    result = container.exec_run(["sh", "-c", cmd], user="1000")
    assert result.exit_code == 0, result.output
    return result.output.decode().strip()


def test_materials_arrive_at_the_pinned_revision_and_a_restart_keeps_edits(course_hub, engine):
    hub, stu = course_hub, course_hub.users["stu"]
    r = hub.spawn(stu, profile="course")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(stu)
    # The pinned commit's files, not the repository's newer HEAD.
    assert in_server(engine, hub, stu, f"cat {HOME}/now/01_intro.ipynb") == '{"cells": [], "v": 1}'
    assert in_server(engine, hub, stu, f"ls {HOME}/now") == "01_intro.ipynb"
    in_server(engine, hub, stu, f"echo kept > {HOME}/mine.txt")
    in_server(engine, hub, stu, f"echo my-notes > {HOME}/now/01_intro.ipynb")
    hub.stop_server(stu)
    # The next start merges the materials again: the student's edit survives.
    r = hub.spawn(stu, profile="course")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(stu)
    assert "in ~/now: 0 new or updated, 1 you changed kept" in hub.log_path.read_text()
    out = in_server(engine, hub, stu, f"cat {HOME}/now/01_intro.ipynb {HOME}/mine.txt")
    assert out.split() == ["my-notes", "kept"]


def test_merge_keeps_edits_copies_new_files_and_updates_untouched_ones(engine, tmp_path, materials):
    volume = f"{unique_prefix('merge')}-home"
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    for folder, files in ((v1, {"a.ipynb": "a1", "b.ipynb": "b1"}),
                          (v2, {"a.ipynb": "a2", "b.ipynb": "b2", "sub/c.ipynb": "c2"})):  # fmt: skip
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text + "\n")
    try:
        first = sync_into_volume(engine, IMAGE, volume, HOME, "epi", v1)
        assert sorted(first.write) == ["a.ipynb", "b.ipynb"]
        run_in(engine, volume, f"echo my-edit > {HOME}/epi/b.ipynb", f"{volume}-edit")
        second = sync_into_volume(engine, IMAGE, volume, HOME, "epi", v2)
        assert second.kept == ["b.ipynb"]
        out = run_in(
            engine,
            volume,
            f"cat {HOME}/epi/a.ipynb {HOME}/epi/b.ipynb {HOME}/epi/sub/c.ipynb; "
            f"stat -c %u {HOME}/epi/sub/c.ipynb",
            f"{volume}-read",
        )
        assert out.split() == ["a2", "my-edit", "c2", "1000"]
    finally:
        engine.volumes.get(volume).remove(force=True)


@pytest.mark.abuse
def test_abuse_only_the_instructor_sees_the_roster_and_gives_extra_days(course_hub):
    hub, u = course_hub, course_hub.users
    for name in (u["teach"], u["teach2"], u["two"], u["ext"]):
        hub.ensure_user(name)
    roster = page(hub, "courses/now?format=json", u["teach"])
    assert roster.status_code == 200, roster.text
    rows = {row["name"]: row for row in roster.json()["roster"]}
    assert set(rows) == {u["stu"], u["two"], u["ext"]}
    assert rows[u["stu"]]["last_activity"] and rows[u["stu"]]["running"]
    html = page(hub, "courses/now", u["teach"])
    assert html.status_code == 200 and u["ext"] in html.text and "Set extra days" in html.text
    # A student sees no roster and cannot extend themselves (refused by name, not by XSRF).
    only = "Only the instructors of"
    seen = page(hub, "courses/now?format=json", u["ext"])
    assert seen.status_code == 403 and only in seen.text
    own = page(
        hub, "courses/now?format=json", u["ext"], "POST", data={"student": u["ext"], "days": 5}
    )
    assert own.status_code == 403 and only in own.text
    # Another course's instructor neither sees nor extends; this one does not see theirs.
    other = page(hub, "courses/now?format=json", u["teach2"])
    assert other.status_code == 403 and only in other.text
    other = page(
        hub, "courses/now?format=json", u["teach2"], "POST", data={"student": u["ext"], "days": 5}
    )
    assert other.status_code == 403 and only in other.text
    assert page(hub, "courses/fut?format=json", u["teach"]).status_code == 403
    assert page(hub, "courses/fut?format=json", u["teach2"]).status_code == 200  # control
    assert audit_log(hub).latest("course.extend", f"course:now/{u['ext']}") is None
    # The bound holds for the instructor too.
    over = page(
        hub, "courses/now?format=json", u["teach"], "POST", data={"student": u["ext"], "days": 6}
    )
    assert over.status_code == 400 and "between 0 and 5" in over.json()["message"]
    ok = page(
        hub, "courses/now?format=json", u["teach"], "POST", data={"student": u["ext"], "days": 3}
    )
    assert ok.status_code == 200, ok.text
    assert {r["name"]: r for r in ok.json()["roster"]}[u["ext"]]["extra_days"] == 3
    entry = audit_log(hub).latest("course.extend", f"course:now/{u['ext']}", "ok")
    assert entry.actor == u["teach"] and entry.details["days"] == 3


def end_cli(hub, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "hdss-course"), *args],
        env={**os.environ, "HDSS_SETTINGS": str(hub.settings_path)},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )


def volume_exists(engine, name: str) -> bool:
    try:
        engine.volumes.get(name)
        return True
    except docker.errors.NotFound:
        return False


def home_volume(hub, user: str) -> str:
    return naming.home_volume(hub.prefix, user)


def test_end_of_course_stops_disables_archives_verifies_then_removes_and_restores(
    course_hub, engine
):
    hub, u = course_hub, course_hub.users
    two = u["two"]
    run_in(engine, home_volume(hub, two), f"echo two > {HOME}/two.txt", f"{hub.prefix}-two")
    day_after = NOW_END + dt.timedelta(days=1)
    result = end_cli(hub, "end", "--course", "now", "--now", day_after.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    stu_volume = home_volume(hub, u["stu"])
    # The student's server is stopped, the account closed, the home archived and removed.
    assert hub.server_state(u["stu"]) is None
    assert not volume_exists(engine, stu_volume)
    archives = sorted((hub.state / "archives" / "now").glob(f"{u['stu']}-*.tar.gz"))
    assert len(archives) == 1
    archive = Archive(archives[0])
    assert archive.checksum_path.read_text().split() == [
        file_sha256(archive.path),
        archive.path.name,
    ]
    assert archive.manifest_path.parent == archive.path.parent
    manifest = verify(archive)
    assert manifest["user"] == u["stu"] and manifest["course"] == "now"
    assert "jovyan/mine.txt" in {f["path"] for f in manifest["files"]}
    assert "jovyan/now/01_intro.ipynb" in {f["path"] for f in manifest["files"]}
    log = audit_log(hub)
    target = f"course:now/{u['stu']}"
    steps = [e.action for e in log.entries() if e.target == target]
    assert steps == [
        "course.stop",
        "course.disable",
        "course.archive",
        "course.verify",
        "course.remove_volume",
    ]
    assert log.verify().ok
    audit_cli = subprocess.run(
        [str(VENV_BIN / "hdss-audit"), "verify"],
        env={**os.environ, "HDSS_SETTINGS": str(hub.settings_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit_cli.returncode == 0, audit_cli.stdout + audit_cli.stderr
    login_response = login(hub, u["stu"]).login_response
    assert (
        login_response.status_code == 403
        and "closed when the course now ended" in login_response.text
    )
    # A student in another active course keeps their account and their home.
    assert (
        log.latest("course.keep", f"course:now/{two}", "ok")
        .details["reason"]
        .startswith("member of the course later")
    )
    assert volume_exists(engine, home_volume(hub, two))
    r = hub.spawn(two, profile="course")  # positive: their other course is open
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(two)
    hub.stop_server(two)
    # The extended student is not ended yet, and on the hub's clock may still start.
    assert log.latest("course.stop", f"course:now/{u['ext']}") is None
    set_clock(hub, day_after)
    try:
        home = page(hub, "home", u["ext"]).text
        assert "open until" in home and "(3 extra days)" in home
        refused = hub.spawn(u["stu"], profile="course")  # the closed account, through the API
        assert refused.status_code == 403 and "closed" in refused.json()["message"]
    finally:
        set_clock(hub, None)
    # One command restores the archived home.
    restored = end_cli(hub, "restore", str(archives[0]))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    out = run_in(
        engine, stu_volume, f"cat {HOME}/mine.txt; stat -c %u {HOME}/mine.txt", f"{hub.prefix}-r"
    )
    assert out.split() == ["kept", "1000"]
    assert log.latest("course.restore", f"volume:{stu_volume}", "ok") is not None


def test_an_archive_that_fails_verification_keeps_the_volume_and_alerts(
    course_hub, engine, monkeypatch, caplog
):
    hub, brk = course_hub, course_hub.users["brk"]
    hub.ensure_user(brk)
    volume = home_volume(hub, brk)
    run_in(engine, volume, f"echo precious > {HOME}/work.txt", f"{hub.prefix}-brk")
    real = course_end.archive_volume

    def corrupting(*args, **kwargs):
        archive = real(*args, **kwargs)
        data = archive.path.read_bytes()
        archive.path.write_bytes(data[: len(data) // 2])  # a truncated write
        return archive

    monkeypatch.setattr(course_end, "archive_volume", corrupting)
    monkeypatch.setenv("HDSS_SETTINGS", str(hub.settings_path))
    from hdss_hub.courses import cli

    monkeypatch.setattr(cli, "PROJECT_DIR", hub.workdir)
    code = cli.main(["end", "--course", "brk"])
    assert code == 1
    assert volume_exists(engine, volume)  # kept
    failed = audit_log(hub).latest("course.verify", f"course:brk/{brk}", "failed")
    assert failed is not None and "does not match its checksum" in failed.details["error"]
    assert any(
        "failed, volume" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records
    )
    assert audit_log(hub).latest("course.remove_volume", f"course:brk/{brk}") is None
