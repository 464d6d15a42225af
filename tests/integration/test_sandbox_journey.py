"""The first user journey against a real hub, proxy and Docker engine.

One session hub; each test states one property a user or an operator relies on.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from hdss_harness.wait import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GIB = 1024**3


@pytest.fixture(scope="module")
def student(hub):
    """A student whose course server is running."""
    name = f"{hub.prefix}-stu"
    r = hub.spawn(name, profile="course")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    return name


@pytest.fixture(scope="module")
def student_container(hub, engine, student):
    return engine.containers.get(hub.container_name(student))


def run(container, cmd: str, user: str = "1000"):
    result = container.exec_run(["sh", "-c", cmd], user=user)
    return result.exit_code, result.output.decode(errors="replace").strip()


def login(hub, username: str, password: str | None = None) -> requests.Session:
    """Log in through the hub's login form, as a person would."""
    session, r = post_login(hub, username, password or hub.password(username))
    assert r.status_code == 302, r.text[:500]
    return session


def post_login(hub, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = session.post(
        f"{hub.url}/hub/login",
        data={"username": username, "password": password, "_xsrf": xsrf},
        timeout=30,
        allow_redirects=False,
    )
    return session, r


@pytest.mark.abuse
def test_the_shared_password_cannot_log_in_as_a_researcher(hub):
    researcher = f"{hub.prefix}-res"
    shared = (hub.state / "secrets" / "user-password").read_text().strip()
    _, refused = post_login(hub, researcher, shared)
    assert refused.status_code == 403 and "Invalid username or password" in refused.text
    # Positive controls: the researcher's own password, and a student with the shared one.
    login(hub, researcher)
    login(hub, f"{hub.prefix}-stu3", shared)


def test_login_form_shows_only_the_profiles_a_student_may_pick(hub, student):
    session = login(hub, f"{hub.prefix}-stu2")
    form = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert form.status_code == 200
    assert 'value="course"' in form.text
    assert 'value="research"' not in form.text
    assert "/data/synthetic/dk-registers" in form.text


def test_researcher_form_offers_both_profiles(hub):
    session = login(hub, f"{hub.prefix}-res")
    form = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert 'value="course"' in form.text and 'value="research"' in form.text


def test_spawn_from_the_form_lands_in_a_running_server(hub):
    name = f"{hub.prefix}-stu2"
    session = login(hub, name)
    page = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert 'value="course"' in page.text
    xsrf = session.cookies.get("_xsrf")
    r = session.post(f"{hub.url}/hub/spawn", data={"profile": "course", "_xsrf": xsrf}, timeout=60)
    assert r.status_code == 200
    hub.wait_ready(name)
    status = requests.get(
        f"{hub.url}/user/{name}/api/status",
        headers={"Authorization": f"token {hub.user_token(name)}"},
        timeout=30,
    )
    assert status.status_code == 200
    hub.stop_server(name)


def test_spawn_progress_is_shown_step_by_step(hub):
    name = f"{hub.prefix}-progress"
    hub.ensure_user(name)
    hub.api("POST", "/groups/students/users", json={"users": [name]}).raise_for_status()
    with ThreadPoolExecutor(1) as pool:
        request = pool.submit(hub.spawn, name, profile="course")
        wait_until(
            lambda: (hub.server_state(name) or {}).get("pending"),
            30,
            0.05,
            f"the spawn of {name} never showed as pending",
        )
        events = hub.progress_events(name)
        assert request.result().status_code in (201, 202)
    messages = [e.get("message", "") for e in events]
    assert any("Mounting the synthetic data read-only" in m for m in messages), messages
    assert any("Creating your container" in m for m in messages), messages
    assert events[-1].get("ready") is True, events[-1]
    hub.stop_server(name)


def test_container_runs_as_non_root_without_capabilities(student_container):
    assert run(student_container, "id -u") == (0, "1000")
    code, caps = run(student_container, "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status")
    assert code == 0
    assert all(line.split()[1] == "0000000000000000" for line in caps.splitlines()), caps
    host = student_container.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["PidsLimit"] and host["PidsLimit"] > 0
    assert not host["Privileged"]


def test_memory_and_cpu_limits_follow_the_profile(student_container):
    host = student_container.attrs["HostConfig"]
    assert host["Memory"] == 2 * GIB
    assert host["CpuQuota"] == host["CpuPeriod"] * 1


def test_no_docker_socket_and_no_host_paths_but_the_data(student_container, synthetic_root):
    assert run(student_container, "test -e /var/run/docker.sock")[0] != 0
    for mount in student_container.attrs["Mounts"]:
        if mount["Type"] == "bind":
            assert mount["Source"].startswith(str(synthetic_root)), mount
            assert mount["RW"] is False, mount
            assert mount["Destination"].startswith("/data/synthetic/")
        else:
            assert mount["Type"] == "volume" and mount["Destination"] == "/home/jovyan", mount


def test_course_notebooks_are_in_the_new_home_and_the_helper_reads_the_data(student_container):
    code, listing = run(student_container, "ls ~/course")
    assert code == 0 and "01_study_population.ipynb" in listing, listing
    code, out = run(
        student_container,
        "/opt/venv/bin/python -c 'import hdss_data; "
        'print(hdss_data.open_dataset().execute("select count(*) from bef").fetchone()[0])\'',
    )
    assert code == 0 and int(out.splitlines()[-1]) > 0, out


def test_synthetic_data_is_readable_and_read_only_even_for_root(student_container):
    code, listing = run(student_container, "ls /data/synthetic/dk-registers")
    assert code == 0 and "datapackage.json" in listing
    for user in ("1000", "0"):
        code, out = run(student_container, "touch /data/synthetic/dk-registers/x", user=user)
        assert code != 0 and "Read-only file system" in out, (user, out)


def test_student_cannot_start_the_research_profile(hub):
    name = f"{hub.prefix}-stu3"
    hub.ensure_user(name)
    hub.api("POST", "/groups/students/users", json={"users": [name]}).raise_for_status()
    r = hub.spawn(name, profile="research")
    assert r.status_code == 403, r.text
    assert "researchers" in r.json()["message"]
    time.sleep(1)
    assert hub.server_state(name) is None


def test_researcher_gets_the_research_limits(hub, engine):
    name = f"{hub.prefix}-res"
    r = hub.spawn(name, profile="research")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    container = engine.containers.get(hub.container_name(name))
    assert container.attrs["HostConfig"]["Memory"] == 8 * GIB
    hub.stop_server(name)


def test_one_user_cannot_reach_another_users_server(hub, student):
    other = f"{hub.prefix}-other"
    hub.ensure_user(other)
    token = hub.user_token(other)
    r = requests.get(
        f"{hub.url}/user/{student}/api/contents",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert r.status_code == 403
    own = requests.get(
        f"{hub.url}/user/{student}/api/contents",
        headers={"Authorization": f"token {hub.user_token(student)}"},
        timeout=30,
    )
    assert own.status_code == 200


def test_culler_runs_as_a_hub_service(hub):
    r = hub.api("GET", "/services")
    r.raise_for_status()
    culler = r.json()["idle-culler"]
    assert "--timeout=3600" in " ".join(culler["command"])
    assert culler.get("pid"), culler


def test_home_survives_stop_start_and_a_running_server_survives_a_hub_restart(hub, engine):
    name = f"{hub.prefix}-persist"
    hub.ensure_user(name)
    hub.api("POST", "/groups/students/users", json={"users": [name]}).raise_for_status()
    assert hub.spawn(name, profile="course").status_code in (201, 202)
    hub.wait_ready(name)
    container = engine.containers.get(hub.container_name(name))
    assert run(container, "echo keep-me > ~/work.txt")[0] == 0

    hub.stop_server(name)
    assert hub.spawn(name, profile="course").status_code in (201, 202)
    hub.wait_ready(name)
    container = engine.containers.get(hub.container_name(name))
    assert run(container, "cat ~/work.txt") == (0, "keep-me")

    hub.restart()
    container.reload()
    assert container.status == "running"
    assert hub.server_state(name)["ready"]
    token = hub.user_token(name)
    r = requests.get(
        f"{hub.url}/user/{name}/api/contents/work.txt",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert r.status_code == 200 and "keep-me" in r.json()["content"]

    hub.stop_server(name)
    assert hub.spawn(name, profile="course").status_code in (201, 202)
    hub.wait_ready(name)
    container = engine.containers.get(hub.container_name(name))
    assert run(container, "cat ~/work.txt") == (0, "keep-me")
    hub.stop_server(name)
