"""The batch script of a Slurm server, without a cluster (fast: no engine)."""

from __future__ import annotations

import subprocess

import pytest
from hdss_slurm.jobscript import JobSpec, JobSpecError, podman_args, render


def spec(**kw) -> JobSpec:
    values = {
        "name": "hdss-alice",
        "partition": "sandbox",
        "image": "2c895a5894d2",
        "home": "/cluster/home/alice",
        "command": ["jupyterhub-singleuser", "--port=18888"],
    }
    return JobSpec(**{**values, **kw})


def test_the_container_has_the_docker_backends_hardening():
    args = podman_args(spec())
    joined = " ".join(args)
    for flag in ("--read-only", "--cap-drop=all", "--userns=keep-id", "--user=1000:100"):
        assert flag in args, flag
    assert "--security-opt no-new-privileges" in joined
    assert "--volume /cluster/home/alice:/home/jovyan:rw" in joined
    assert "--volume /hdss-data/synthetic:/data/synthetic:ro" in joined
    assert "restricted" not in joined
    assert args[-3:] == ["2c895a5894d2", "jupyterhub-singleuser", "--port=18888"]


def test_a_secure_job_gets_its_restricted_datasets_read_only_and_no_synthetic():
    joined = " ".join(podman_args(spec(secure=True, restricted=["dk-registers"])))
    assert "--volume /hdss-data/restricted/dk-registers:/data/restricted/dk-registers:ro" in joined
    assert "/data/synthetic" not in joined


def test_the_script_is_valid_bash_removes_its_container_on_term_and_names_secrets_only():
    script = render(spec(env_names=["JUPYTERHUB_API_TOKEN"], env_values={"JUPYTERHUB_USER": "a"}))
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert "#SBATCH --partition=sandbox" in script
    assert "trap 'cleanup; exit 143' TERM INT" in script
    assert "podman rm --force" in script
    assert " &\nCLIENT=$!\nwait $CLIENT\n" in script  # in the background: the trap runs at TERM
    assert 'kill -0 "$CLIENT"' in script  # and removes a container the client still makes
    # The token is passed on by name: its value never appears in the script.
    assert "--env JUPYTERHUB_API_TOKEN " in script
    assert "--env JUPYTERHUB_USER=a" in script


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "alice; rm -rf /"),
        ("partition", "sandbox --nodelist=secure1"),
        ("image", "img$(id)"),
        ("home", "/cluster/home/../../etc"),
        ("home", "relative/home"),
        ("env_names", ["LD_PRELOAD=/x.so"]),
        ("restricted", ["../synthetic"]),
        ("time_limit", "1:00; reboot"),
        ("command", []),
    ],
)
def test_values_that_would_change_the_script_are_refused(field, value):
    render(spec())  # positive control: the ordinary values render
    with pytest.raises(JobSpecError):
        render(spec(**{field: value}))
