"""The playbook, for real: lint, converge into a systemd host, idempotence, check mode.

The tests share one throwaway host (see conftest.py) and run in file order: converge,
then a second run that must change nothing, then a check-mode run, then bad input.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import VENV_BIN

from .conftest import ANSIBLE_DIR, ConvergeHost

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
    ],
)
def test_bad_input_stops_before_any_change(test_host: ConvergeHost, extra, named):
    run = test_host.playbook("-e", json.dumps(extra))
    assert run.returncode != 0
    assert named in run.output, run.output[-3000:]
    recap = run.recap(test_host.host)
    assert recap["changed"] == 0 and recap["failed"] == 1
    assert "Set up the sandbox hub node" not in run.output
