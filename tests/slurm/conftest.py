"""One real Slurm cluster (controller, node1, node2, secure1 as containers) for tests/slurm.

The node image is built by images/build.py when missing (skipped when up to date); the
single-user image must be built (make images). The cluster's names start with
``hdsstest-slurm-``; it is removed with its networks and volumes afterwards. The host is a
submit host: sbatch/squeue/scancel from Debian's slurm-client with the cluster's munge key.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hdss_slurm.cluster import Cluster, ClusterError

from tests.conftest import PROJECT_DIR, VENV_BIN, require, unique_prefix
from tests.integration.hubproc import publish


@pytest.fixture(scope="package")  # removed as soon as tests/slurm is done
def slurm_cluster(engine, tmp_path_factory):
    require(shutil.which("sbatch") is not None, "slurm-client is not installed (make test-deps)")
    require(shutil.which("munged") is not None, "munge is not installed (make test-deps)")
    built = subprocess.run(
        [str(VENV_BIN / "python"), str(PROJECT_DIR / "images" / "build.py"),
         "--only", "slurmnode", "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    synthetic = tmp_path_factory.mktemp("slurm-synthetic")
    publish(synthetic, 11)
    restricted = tmp_path_factory.mktemp("slurm-restricted")
    publish(restricted, 1011, "--sensitivity", "restricted")
    for root in (synthetic, restricted):
        root.chmod(0o755)  # the nodes' job account reads them (pytest makes folders 0700)
    cluster = Cluster(
        tmp_path_factory.mktemp("slurm-state"),
        prefix=unique_prefix("slurm"),
        synthetic=synthetic,
        restricted=restricted,
    )
    try:
        cluster.up(timeout=180)
    except ClusterError:
        cluster.down()
        raise
    try:
        yield cluster
    finally:
        cluster.down()
