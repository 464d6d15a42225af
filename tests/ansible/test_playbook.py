"""The playbook, for real: lint, converge into a systemd host, idempotence, check mode.

The tests share one throwaway host (see conftest.py) and run in file order: converge,
then a second run that must change nothing, then a check-mode run, then bad input, and
last an upgrade (new dataset seed and image tag), which changes the host for good.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from hdss_harness.wait import wait_until

from tests.conftest import VENV_BIN

from .conftest import ANSIBLE_DIR, ConvergeHost, docker

pytestmark = [pytest.mark.ansible]


def test_ansible_lint_passes_offline():
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--offline", "--nocolor"],
        cwd=ANSIBLE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@pytest.mark.docker
def test_converge_starts_the_hub_behind_the_tls_front(test_host: ConvergeHost, diagnose_on_failure):
    run = test_host.playbook()
    assert run.returncode == 0, run.output[-6000:]
    assert test_host.exec("systemctl", "is-active", "hdss-hub").stdout.strip() == "active"
    assert test_host.exec("systemctl", "is-enabled", "hdss-hub").stdout.strip() == "enabled"
    status, body = test_host.get(f"http://127.0.0.1:{test_host.ports['proxy']}/hub/api/")
    assert status == 200 and "version" in json.loads(body)
    status, body = test_host.get(f"https://127.0.0.1:{test_host.ports['https']}/hub/api/")
    assert status == 200 and "version" in json.loads(body)


@pytest.mark.docker
def test_converged_prometheus_scrapes_the_hub_and_its_services(
    test_host: ConvergeHost, diagnose_on_failure
):
    modes = test_host.exec("stat", "-c", "%a %U", "/etc/prometheus/hdss-metrics-token").stdout
    assert modes.strip() == "600 prometheus", modes
    api = f"http://127.0.0.1:{test_host.ports['prometheus']}/api/v1"

    def up() -> dict[str, float] | None:
        status, body = test_host.get(f"{api}/query?query=up")
        got = {r["metric"]["job"]: float(r["value"][1]) for r in json.loads(body)["data"]["result"]}
        jobs = ("hdss-hub", "hdss-ledger", "hdss-promotion", "node")
        return got if all(got.get(job) == 1 for job in jobs) else None

    wait_until(up, 120, 2, lambda: f"not every target is up: {test_host.get(f'{api}/targets')}")
    status, body = test_host.get(f"{api}/rules")
    alerts = {r["name"] for g in json.loads(body)["data"]["groups"] for r in g["rules"]}
    assert {
        "HdssHubDown",
        "HdssSpawnFailures",
        "HdssDiskNearlyFull",
        "HdssAuditVerifyFailing",
    } <= alerts


@pytest.mark.docker
def test_converged_host_keeps_secrets_private_and_settings_valid(
    test_host: ConvergeHost, diagnose_on_failure
):
    modes = test_host.exec(
        "stat",
        "-c",
        "%a %U %n",
        "/etc/hdss/hub.env",
        "/etc/hdss/tls/hdss.key",
        "/var/lib/hdss/hub/secrets",
    ).stdout
    assert modes.split("\n")[0].startswith("600 root"), modes
    assert modes.split("\n")[1].startswith("600 root"), modes
    assert modes.split("\n")[2].startswith("700 hdss"), modes
    check = test_host.exec(
        "env",
        "HDSS_SETTINGS=/etc/hdss/settings.yaml",
        "/opt/hdss/venv/bin/python",
        "-m",
        "hdss_hub.cli",
        "check",
    )
    assert check.returncode == 0, check.stdout + check.stderr
    groups = test_host.exec(
        "env",
        "HDSS_SETTINGS=/etc/hdss/settings.yaml",
        "/opt/hdss/venv/bin/python",
        "-m",
        "hdss_hub.cli",
        "get",
        "groups.researchers",
    ).stdout.strip()
    assert groups == "bo"


@pytest.mark.docker
def test_backup_timer_is_on_and_a_backup_run_succeeds_while_the_hub_serves(
    test_host: ConvergeHost, diagnose_on_failure
):
    timer = test_host.exec("systemctl", "is-enabled", "hdss-backup.timer").stdout.strip()
    assert timer == "enabled"
    assert test_host.exec("systemctl", "is-active", "hdss-backup.timer").stdout.strip() == "active"
    run = test_host.exec("systemctl", "start", "hdss-backup.service")  # oneshot: waits for it
    journal = test_host.exec("journalctl", "-u", "hdss-backup", "--no-pager", "-n", "40").stdout
    assert run.returncode == 0, run.stderr + journal
    assert "backed up state" in journal, journal
    status = test_host.exec("cat", "/var/lib/hdss/hub/backup/status.prom").stdout
    assert "hdss_backup_last_run_success 1" in status, status
    env = ["env", "HDSS_SETTINGS=/etc/hdss/settings.yaml"]
    listed = test_host.exec(*env, "/opt/hdss/venv/bin/hdss-backup", "snapshots")
    assert listed.returncode == 0 and "complete" in listed.stdout, listed.stderr
    assert test_host.exec("systemctl", "is-active", "hdss-hub").stdout.strip() == "active"
    mode = test_host.exec("stat", "-c", "%a %U", "/var/lib/hdss/hub/secrets/backup-password")
    assert mode.stdout.strip() == "600 root", mode.stdout
    # The root-run backup may be the first to write the audit anchors: they stay the hub's.
    for anchor in ("secrets/audit-anchor-key", "audit-anchors.log"):
        owner = test_host.exec("stat", "-c", "%U", f"/var/lib/hdss/hub/{anchor}").stdout.strip()
        assert owner in ("hdss", ""), f"{anchor} belongs to {owner}"


@pytest.mark.docker
def test_course_end_timer_is_on_and_a_run_without_courses_succeeds(
    test_host: ConvergeHost, diagnose_on_failure
):
    timer = "hdss-course-end.timer"
    assert test_host.exec("systemctl", "is-enabled", timer).stdout.strip() == "enabled"
    assert test_host.exec("systemctl", "is-active", timer).stdout.strip() == "active"
    run = test_host.exec("systemctl", "start", "hdss-course-end.service")  # oneshot: waits
    journal = test_host.exec("journalctl", "-u", "hdss-course-end", "--no-pager", "-n", "20")
    assert run.returncode == 0, run.stderr + journal.stdout
    assert "nothing to end" in journal.stdout, journal.stdout
    user = test_host.exec("systemctl", "show", "-p", "User", "hdss-course-end.service").stdout
    assert user.strip() == "User=hdss", user


@pytest.mark.docker
def test_second_run_changes_nothing(test_host: ConvergeHost, diagnose_on_failure):
    run = test_host.playbook()
    assert run.returncode == 0, run.output[-6000:]
    assert run.recap(test_host.host)["changed"] == 0, "\n".join(run.changed_tasks())


@pytest.mark.docker
def test_check_mode_run_changes_nothing(test_host: ConvergeHost, diagnose_on_failure):
    run = test_host.playbook("--check")
    assert run.returncode == 0, run.output[-6000:]
    assert run.recap(test_host.host)["changed"] == 0, "\n".join(run.changed_tasks())


@pytest.mark.docker
@pytest.mark.parametrize(
    "extra, named",
    [
        ({"hdss_hub_admin_users": []}, "hdss_hub_admin_users"),
        (
            {"hdss_datasets_min_free_mb": 10**12, "hdss_datasets_generate": True},
            "hdss_datasets_min_free_mb",
        ),
        ({"hdss_front_https_port": "https"}, "hdss_front_https_port"),
        ({"hdss_metrics_listen": "9090"}, "hdss_metrics_listen"),
    ],
)
def test_bad_input_stops_before_any_change(test_host: ConvergeHost, extra, named):
    run = test_host.playbook("-e", json.dumps(extra))
    assert run.returncode != 0
    assert named in run.output, run.output[-3000:]
    recap = run.recap(test_host.host)
    assert recap["changed"] == 0 and recap["failed"] == 1
    assert "Set up the sandbox hub node" not in run.output


def _sha256_tree(host: ConvergeHost, path: str) -> str:
    """Path, type, size, mode and mtime of everything under ``path``, and each file's SHA-256."""
    r = host.exec(
        "sh",
        "-c",
        'cd "$1" && find . -printf "%p %y %s %m %T@\\n" | sort'
        " && find . -type f -exec sha256sum {} + | sort",
        "sh",
        path,
    )
    assert r.returncode == 0 and r.stdout, r.stderr
    return r.stdout


def _hub_process(host: ConvergeHost) -> dict[str, str]:
    out = host.exec(
        "systemctl", "show", "hdss-hub", "-p", "MainPID", "-p", "NRestarts", "-p", "ActiveState"
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.docker
def test_upgrade_publishes_new_data_and_image_and_leaves_homes_alone(
    test_host: ConvergeHost, diagnose_on_failure
):
    """Issue 8, point 4: re-running the playbook with a new dataset seed and a new image tag
    rolls both out; the old dataset version stays intact, a user's home volume is untouched,
    the hub restarts once, cleanly, and answers. Last in the file: it changes the host."""
    if test_host.exec("systemctl", "is-active", "hdss-hub").stdout.strip() != "active":
        run = test_host.playbook()  # run on its own (-k): converge first
        assert run.returncode == 0, run.output[-6000:]
    settings = json.loads(test_host.vars_file.read_text())
    data = settings["hdss_datasets_generate"]
    dataset_dir = "/srv/hdss/data/synthetic/dk-registers"
    volume = f"{test_host.name}-home-ana"  # how the spawner names ana's home volume
    worker = f"{test_host.name}-home-worker"
    new_image = f"{test_host.name}-upgrade:2"
    note = "written before the upgrade\n"
    probe = "cat /home/jovyan/notes.txt; stat -c '%s %a %u %Y' /home/jovyan/notes.txt"

    def in_home(script: str) -> str:
        r = docker(
            "run",
            "--rm",
            "--name",
            worker,
            "-v",
            f"{volume}:/home/jovyan",
            test_host.image,
            "sh",
            "-c",
            script,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    try:
        docker("volume", "create", volume)
        home_before = in_home(f"printf %s '{note}' > /home/jovyan/notes.txt; {probe}")
        assert home_before.startswith(note)
        if data:
            old = test_host.exec("readlink", f"{dataset_dir}/current").stdout.strip()
            assert old, f"no current version under {dataset_dir}"
            old_tree = _sha256_tree(test_host, f"{dataset_dir}/{old}")
        before = _hub_process(test_host)
        docker("tag", test_host.image, new_image)

        run = test_host.playbook(
            "-e", json.dumps({"hdss_datasets_seed": 2, "hdss_hub_docker_image": new_image})
        )
        assert run.returncode == 0, run.output[-6000:]
        changed = run.changed_tasks()
        # Only the data, the settings and the hub's restart change: no new release, no
        # package, no unit, no front.
        assert all(
            "Generate and publish" in t or "settings file" in t or "Restart the hub" in t
            for t in changed
        ), "\n".join(changed)
        assert any("Restart the hub" in t for t in changed), "\n".join(changed)

        if data:
            new = test_host.exec("readlink", f"{dataset_dir}/current").stdout.strip()
            assert new and new != old and "-s2-" in new, (old, new)
            assert _sha256_tree(test_host, f"{dataset_dir}/{old}") == old_tree
            verify = test_host.exec(
                "/opt/hdss/venv/bin/hdss-dataset", "verify", "--no-keys", f"{dataset_dir}/{old}"
            )
            assert verify.returncode == 0, verify.stdout + verify.stderr

        image = test_host.exec(
            "env",
            "HDSS_SETTINGS=/etc/hdss/settings.yaml",
            "/opt/hdss/venv/bin/python",
            "-m",
            "hdss_hub.cli",
            "get",
            "docker.image",
        ).stdout.strip()
        assert image == new_image
        after = _hub_process(test_host)
        assert after["ActiveState"] == "active", after
        assert after["MainPID"] != before["MainPID"], (before, after)  # restarted once ...
        assert after["NRestarts"] == before["NRestarts"], (before, after)  # ... not crashed
        for url in (
            f"http://127.0.0.1:{test_host.ports['proxy']}/hub/api/",
            f"https://127.0.0.1:{test_host.ports['https']}/hub/api/",
        ):
            status, body = test_host.get(url)
            assert status == 200 and "version" in json.loads(body)

        assert in_home(probe) == home_before
    finally:
        docker("rm", "-f", worker, check=False)
        docker("volume", "rm", volume, check=False)
        docker("rmi", new_image, check=False)  # only the tag: the image is the test host's
