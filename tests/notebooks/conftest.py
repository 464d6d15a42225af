"""Fixtures of the notebook tests: tiny datasets made by the real generator CLI.

One synthetic dataset (seed 7) and one restricted twin (seed 99, ``--sensitivity
restricted``) are generated once per test session into a temporary directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, VENV_BIN

NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"


def generate(out: Path, seed: int, sensitivity: str = "synthetic") -> Path:
    """Run ``hdss-dataset generate --size tiny`` and return the dataset root it published."""
    cli = VENV_BIN / "hdss-dataset"
    cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "hdss_registers.cli"]
    cmd += [
        "generate",
        "--size",
        "tiny",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--sensitivity",
        sensitivity,
        "--jobs",
        "1",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}", pytrace=False
        )
    return out


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic"), seed=7)


@pytest.fixture(scope="session")
def restricted_root(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("restricted"), seed=99, sensitivity="restricted")
