"""Fixtures that start a real hub with a real proxy and Docker engine."""

from __future__ import annotations

import pytest

from tests.conftest import require, unique_prefix
from tests.integration.hubproc import publish, running_hub

IMAGE = "hdss/singleuser:latest"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A tiny synthetic dataset published by the real generator."""
    root = tmp_path_factory.mktemp("synthetic")
    publish(root, 11)
    return root


@pytest.fixture(scope="session")
def engine(docker_client):
    try:
        docker_client.images.get(IMAGE)
    except Exception:
        require(False, f"the image {IMAGE} is not built (make images)")
    return docker_client


@pytest.fixture(scope="session")
def hub(engine, synthetic_root, tmp_path_factory):
    yield from running_hub(
        engine, tmp_path_factory.mktemp("hub"), unique_prefix("hub"), synthetic_root
    )


@pytest.fixture(autouse=True)
def dump_logs_on_failure(request):
    """On a failed integration test, print the hub's log and the containers' logs."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or "hub" not in request.fixturenames:
        return
    hub = request.getfixturevalue("hub")
    engine = request.getfixturevalue("engine")
    print(f"---- hub log ({hub.log_path}) ----\n{hub.log_tail(80)}")
    for container in engine.containers.list(all=True, filters={"name": hub.prefix}):
        print(f"---- container {container.name} ----")
        print(container.logs(tail=40).decode(errors="replace"))
