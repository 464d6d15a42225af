"""A server lost to a fault says so: the Docker engine restarted under a running server.

An operator restarts the engine; the student's container dies with it. The hub keeps
serving. The student's next visit to their notebook URL gets a page that names what
happened (while the engine is down: the engine; once it is back: their server stopped,
with a button to start it again), never "the login service". Following that button as a
person would (spawn form, Start) brings a running server back with the home intact.

The hub polls its servers only once a day here, so what the student sees comes from the
proxy's error page asking about the server, not from the hub's periodic poll.

Restarting the engine stops every container on it: this test is ``slow`` and must run
alone (as CI runs the tests, one at a time).
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import unique_prefix
from tests.integration.engine_ops import Engine
from tests.integration.hubproc import LIVE_HUBS, READY_DEADLINE, Hub, cleanup_docker
from tests.integration.test_sandbox_journey import login, run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def fault_hub(engine, synthetic_root, tmp_path_factory):
    """A hub of its own whose periodic poll of the servers never comes during the test."""
    prefix = unique_prefix("fault")
    workdir = tmp_path_factory.mktemp("faulthub")
    hub = Hub(workdir, prefix, synthetic_root)
    (workdir / "config.d" / "slow_poll.py").write_text(
        "c = get_config()  # noqa\nc.Spawner.poll_interval = 86400\n"
    )
    LIVE_HUBS[prefix] = (hub, engine)
    try:
        hub.start()
        yield hub
    finally:
        del LIVE_HUBS[prefix]
        hub.stop()
        cleanup_docker(engine, prefix)


def heading(html: str) -> str:
    match = re.search(r"<h1>\s*(.*?)\s*</h1>", html, re.S)
    assert match, html[:2000]
    return " ".join(match.group(1).split())


def test_engine_restart_under_a_running_server(fault_hub, engine):
    hub = fault_hub
    name = f"{hub.prefix}-stu"
    session = login(hub, name)
    xsrf = session.cookies.get("_xsrf")
    r = session.post(f"{hub.url}/hub/spawn", data={"profile": "course", "_xsrf": xsrf}, timeout=60)
    assert r.status_code == 200, r.text[:800]
    hub.wait_ready(name)
    container = engine.containers.get(hub.container_name(name))
    assert run(container, "echo keep-me > ~/work.txt")[0] == 0
    lab = f"{hub.url}/user/{name}/lab"
    assert session.get(lab, timeout=60).status_code == 200  # positive control

    dockerd = Engine.find(engine)
    dockerd.stop()
    try:
        down = session.get(lab, timeout=120)
        assert down.status_code == 503, down.text[:2000]
        assert heading(down.text) == "503 : The container engine is not answering"
        assert "Your files are safe in your home folder" in down.text
        assert "login" not in down.text.lower()
        assert requests.get(f"{hub.url}/hub/api/", timeout=30).ok  # the hub keeps serving
    finally:
        dockerd.start()

    stopped = session.get(lab, timeout=120)
    assert stopped.status_code == 503, stopped.text[:2000]
    assert heading(stopped.text) == "503 : Your server has stopped"
    assert "login" not in stopped.text.lower()
    start = re.search(
        r'<a class="btn btn-primary" href="([^"]+)">Start your server again', stopped.text
    )
    assert start, stopped.text[:3000]
    start_url = start.group(1).replace("&amp;", "&")
    assert start_url.startswith(f"/hub/spawn/{name}?next=")

    form = session.get(f"{hub.url}{start_url}", timeout=60)
    assert form.status_code == 200 and 'value="course"' in form.text, form.text[:2000]
    action = re.search(r'<form[^>]*id="spawn_form"[^>]*action="([^"]+)"', form.text, re.S)
    assert action, form.text[:3000]
    xsrf = session.cookies.get("_xsrf", path="/hub/")  # the server set its own at /user/
    r = session.post(
        f"{hub.url}{action.group(1).replace('&amp;', '&')}",
        data={"profile": "course", "_xsrf": xsrf},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:800]
    hub.wait_ready(name, deadline=READY_DEADLINE)
    back = session.get(lab, timeout=120)
    assert back.status_code == 200 and "JupyterLab" in back.text, back.text[:2000]
    token = hub.user_token(name)
    saved = requests.get(
        f"{hub.url}/user/{name}/api/contents/work.txt",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert saved.status_code == 200 and "keep-me" in saved.json()["content"]
    hub.stop_server(name)
