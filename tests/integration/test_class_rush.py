"""A class rush through the real hub, and the usage figures people can see.

One hub for the module: servers start 3 at a time (``docker.starting_at_once``), the
collector samples every 5 s, and the course profile has a 20 MiB home quota. Ten students
of one course press Start at the same moment: all get a running server and the queued ones
are told their place in line. Then known amounts written into a home are reported, the
quota is warned and named at spawn, and only admins and the course's instructor read the
usage page and CSV. No timing is asserted: waits poll with generous deadlines.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import threading
import time

import pytest
import requests
from hdss_harness.wait import wait_until

from tests.conftest import DOCKER, unique_prefix
from tests.integration.hubproc import READY_DEADLINE, running_hub
from tests.integration.secure_helpers import hub_login

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUSH = 10
SLOTS = 3
MiB = 1024**2
WRITTEN = 24 * MiB  # over the 20 MiB quota


@pytest.fixture(scope="module")
def hub(engine, synthetic_root, tmp_path_factory):
    prefix = unique_prefix("rush")
    students = [f"{prefix}-s{i}" for i in range(RUSH)]
    extra = {
        "docker": {"starting_at_once": SLOTS, "queue_wait_seconds": 600},
        "groups": {
            "students": [*students, f"{prefix}-other"],
            "course-h4": [*students, f"{prefix}-teacher"],
            "other-course": [f"{prefix}-other"],
            "instructors": [f"{prefix}-teacher"],
        },
        "profiles": {"course": {"home_quota": "20M"}},
        "usage": {"sample_seconds": 5, "disk_every_seconds": 5},
    }
    yield from running_hub(
        engine,
        tmp_path_factory.mktemp("rush"),
        prefix,
        synthetic_root,
        extra=extra,
        students=students,
        teacher=f"{prefix}-teacher",
        other=f"{prefix}-other",
    )


def spawn_and_follow(hub, user: str, out: dict) -> None:
    """POST the spawn and, beside it, read the progress stream the user's page reads."""
    result: dict = {}

    def post() -> None:
        try:
            result["status"] = hub.spawn(user, profile="course").status_code
        except requests.RequestException as e:
            result["status"] = repr(e)

    poster = threading.Thread(target=post)
    poster.start()
    events: list[dict] = []
    end = time.monotonic() + READY_DEADLINE
    while time.monotonic() < end and not events:
        time.sleep(0.5)
        try:
            events = hub.progress_events(user, limit=READY_DEADLINE)
        except requests.HTTPError:  # 400: not pending yet (or already done)
            if "status" in result and result["status"] not in (201, 202):
                break
    poster.join()
    out[user] = {"status": result.get("status"), "events": events}


@pytest.fixture(scope="module")
def rush(hub):
    """Every student presses Start at once; what each POST answered and their events."""
    for user in [*hub.students, hub.teacher, hub.other, "admin"]:
        hub.ensure_user(user)
    out: dict = {}
    threads = [threading.Thread(target=spawn_and_follow, args=(hub, u, out)) for u in hub.students]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for user in hub.students:
        hub.wait_ready(user)
    return out


def test_a_rush_of_ten_all_start_and_the_queued_see_their_place(hub, rush):
    refused = {u: r["status"] for u, r in rush.items() if r["status"] not in (201, 202)}
    assert refused == {}, f"spawns refused: {refused}\n{hub.log_tail()}"
    for user in hub.students:  # 0 failures: every server is ready
        assert hub.server_state(user)["ready"], user
    waited = {
        u: [
            e["message"] for e in r["events"] if e.get("message", "").startswith("Waiting to start")
        ]
        for u, r in rush.items()
    }
    queued = {u: msgs for u, msgs in waited.items() if msgs}
    # 10 at once with 3 slots: at least one waited in line, and its page said so
    assert queued, f"no spawn showed a place in line: {rush}"
    first = next(iter(queued.values()))[0]
    assert " in line (" in first and "starting now)" in first
    for r in rush.values():
        assert not any(e.get("failed") for e in r["events"]), r["events"]


def home_figure(hub, user: str) -> int | None:
    path = hub.state / "usage.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["users"].get(user, {}).get("home_bytes")


def page(hub, path: str, username: str) -> requests.Response:
    """A hub page as ``username``'s browser gets it (logged in through the login form)."""
    sessions = hub.__dict__.setdefault("sessions", {})
    if username not in sessions:
        sessions[username] = hub_login(hub, username)
    return sessions[username].get(f"{hub.url}/hub/{path}", timeout=60, allow_redirects=False)


def csv_rows(hub, username: str) -> list[dict]:
    r = page(hub, "usage.csv", username)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def test_known_bytes_written_into_a_home_are_reported_and_the_quota_warned(hub, rush):
    user = hub.students[0]
    before = wait_until(lambda: home_figure(hub, user), 120, 1, "the collector measured no home")
    container = hub.container_name(user)
    subprocess.run(
        [DOCKER, "exec", container, "sh", "-c", f"head -c {WRITTEN} /dev/urandom > ~/big.bin"],
        check=True,
        capture_output=True,
    )
    after = wait_until(
        lambda: (f := home_figure(hub, user)) is not None and f >= before + WRITTEN and f,
        120,
        1,
        f"the home of {user} never showed the {WRITTEN} bytes written",
    )
    assert after - before < WRITTEN + MiB  # the written bytes, not some other figure
    home = page(hub, "home", user)
    assert home.status_code == 200
    assert 'id="hdss-home-used"' in home.text and "over its quota of 20.0 MiB" in home.text
    # Positive control: a student of the same course with nothing written is not warned.
    calm = page(hub, "home", hub.students[1])
    assert 'id="hdss-home-used"' in calm.text and "over its quota" not in calm.text
    # Over the quota, the student can still start a server, and the spawn page says so.
    hub.stop_server(user)
    form = page(hub, f"spawn/{user}", user)
    assert form.status_code == 200 and "hdss-home-note" in form.text, form.text[:500]
    assert "over its quota" in form.text
    hub.spawn(user, profile="course")
    hub.wait_ready(user)
    out = subprocess.run(
        [DOCKER, "exec", hub.container_name(user), "sh", "-c", "stat -c %s ~/big.bin"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert int(out.stdout) == WRITTEN  # nothing was cut off


def test_usage_page_and_csv_are_for_admins_and_the_courses_instructor(hub, rush):
    """Abuse: a student reads neither; the instructor sees their course only; admin all."""
    student = hub.students[2]
    for path in ("usage", "usage.csv"):
        r = page(hub, path, student)
        assert r.status_code == 403, (path, r.status_code)
        assert hub.students[3] not in r.text
    teacher = hub.teacher
    rows = wait_until(
        lambda: (
            (rs := [r for r in csv_rows(hub, teacher) if r["user"] == hub.students[2]])
            and float(rs[0]["cpu_hours"]) > 0
            and rs
        ),
        120,
        2,
        "no CPU figure for a running server",
    )
    row = rows[0]
    assert row["group"] == "course-h4"
    assert float(row["peak_memory_mib"]) > 10  # a server holds tens of MiB
    assert float(row["server_hours"]) > 0
    assert float(row["home_quota_mib"]) == 20.0
    seen = {r["user"] for r in csv_rows(hub, teacher)}
    assert set(hub.students) <= seen and hub.other not in seen
    html = page(hub, "usage", teacher)
    assert html.status_code == 200 and f'data-user="{hub.students[2]}"' in html.text
    # Positive control: the hub admin sees every course, the other one too.
    admin = {r["user"]: r for r in csv_rows(hub, "admin")}
    assert hub.other in admin and hub.students[2] in admin
