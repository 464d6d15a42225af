"""Fixtures for the image tests: the build script as a module, and the built image.

Docker objects made here are named ``hdsstest-img-...`` and removed afterwards.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DOCKER, PROJECT_DIR, require, unique_prefix

IMAGE = "hdss/singleuser:latest"
BUILD_PY = PROJECT_DIR / "images" / "build.py"


def load_build_module():
    """images/build.py imported as a module (images/ is not a package)."""
    spec = importlib.util.spec_from_file_location("hdss_images_build", BUILD_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build():
    return load_build_module()


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the Debian docker client; on failure the error shows its output."""
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def remove_objects(prefix: str) -> None:
    """Remove every container, then every volume, whose name starts with ``prefix``."""
    for kind, ls, rm in (
        ("container", ["ps", "-aq"], ["rm", "-f"]),
        ("volume", ["volume", "ls", "-q"], ["volume", "rm", "-f"]),
    ):
        ids = docker(*ls, "--filter", f"name={prefix}", check=False).stdout.split()
        if kind == "volume":  # the name filter matches substrings: keep true prefixes
            ids = [v for v in ids if v.startswith(prefix)]
        if ids:
            docker(*rm, *ids, check=False)


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The built single-user image (skip here, fail in CI, when it or the engine is missing)."""
    try:
        engine = subprocess.run(
            [DOCKER, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        answers = engine.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        answers = False
    require(answers, "no Docker engine answers; start dockerd (or make up)")
    inspect = docker("image", "inspect", IMAGE, check=False)
    if inspect.returncode != 0 and "No such image" not in inspect.stderr:
        pytest.fail(f"docker image inspect {IMAGE} failed:\n{inspect.stderr}", pytrace=False)
    require(inspect.returncode == 0, f"the image {IMAGE} is not built; run make images")
    yield IMAGE


@pytest.fixture
def prefix(image) -> Iterator[str]:
    """A unique name prefix for this test's containers and volumes; all removed afterwards."""
    name = unique_prefix("img")
    yield name
    remove_objects(name)


@pytest.fixture
def run(image, prefix):
    """Run a command in the single-user image (entrypoint included) and return the result."""
    counter = iter(range(1000))

    def _run(
        *cmd: str, options: tuple[str, ...] = (), check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        name = f"{prefix}-{next(counter)}"
        return docker(
            "run", "--rm", "--name", name, *options, image, *cmd, check=check, timeout=timeout
        )

    return _run


@pytest.fixture
def repo() -> Path:
    return PROJECT_DIR
