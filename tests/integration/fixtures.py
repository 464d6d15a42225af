"""Fixtures and the report hook that every test directory shares (a pytest plugin).

Registered through ``pytest_plugins`` in tests/conftest.py, so no conftest re-exports them:

- ``engine``: the real Docker engine, with the single-user image built;
- ``synthetic_root``: a tiny synthetic dataset published by the real generator;
- the report hook: each phase's report as ``item.rep_<phase>``, and on any failure the log
  of every hub running then (``hubproc.LIVE_HUBS``) and of the containers it started.
"""

from __future__ import annotations

import docker
import pytest
import requests

from tests.conftest import require
from tests.integration.hubproc import LIVE_HUBS, publish

IMAGE = "hdss/singleuser:latest"
HUB_LOG_LINES = 80
CONTAINER_LOG_LINES = 40


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A tiny synthetic dataset published by the real generator."""
    root = tmp_path_factory.mktemp("synthetic")
    publish(root, 11)
    return root


@pytest.fixture(scope="session")
def engine(docker_client):
    """The engine, once the image is there (a missing image skips, or fails in CI)."""
    try:
        docker_client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        require(False, f"the image {IMAGE} is not built (make images)")
    return docker_client


def hub_logs(hub, engine) -> list[tuple[str, str]]:
    """(title, text) sections: the hub's log, then each of its containers' logs."""
    sections = [(f"hub {hub.prefix}: log {hub.log_path}", hub.log_tail(HUB_LOG_LINES))]
    try:
        containers = engine.containers.list(all=True, filters={"name": hub.prefix})
    except (docker.errors.DockerException, requests.RequestException) as e:
        return [*sections, (f"hub {hub.prefix}: containers", f"not listed: {e!r}")]
    for container in containers:
        try:
            text = container.logs(tail=CONTAINER_LOG_LINES).decode(errors="replace")
        except docker.errors.NotFound:
            text = "(removed meanwhile)"
        except (docker.errors.DockerException, requests.RequestException) as e:
            text = f"not read: {e!r}"
        sections.append((f"container {container.name}", text))
    return sections


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # for fixtures that act on a failure
    if report.failed:
        for hub, engine in list(LIVE_HUBS.values()):
            report.sections.extend(hub_logs(hub, engine))
    return report
