"""Role hdss_metrics's files, rendered by Ansible with the role's defaults: the alert rules
pass `promtool check rules`, each alert fires on what it is for and not on a healthy host
(`promtool test rules`), and the scrape configuration passes `promtool check config`
(issue 15, item 4). Debian's prometheus package provides promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import VENV_BIN, require

from .conftest import ANSIBLE_DIR

pytestmark = [pytest.mark.ansible]
ROLE = ANSIBLE_DIR / "roles" / "hdss_metrics"
PROMTOOL = "/usr/bin/promtool"


def render(template: str, dest: Path, **extra: str) -> Path:
    """``template`` of the role rendered by Ansible's template module with its defaults."""
    args = [f"-e {k}={v}" for k, v in extra.items()]
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "ansible.builtin.template",
            "-a",
            f"src={ROLE / 'templates' / template} dest={dest}",
            "-e",
            f"@{ROLE / 'defaults' / 'main.yml'}",
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
            *" ".join(args).split(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dest


def promtool(*args: str) -> subprocess.CompletedProcess:
    require(shutil.which(PROMTOOL) is not None, "promtool (Debian's prometheus) is missing")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    return render("hdss-alerts.yml.j2", tmp_path_factory.mktemp("rules") / "hdss-alerts.yml")


def test_the_alert_rules_pass_promtool_check(rules):
    proc = promtool("check", "rules", str(rules))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {r["alert"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]}
    assert {
        "HdssHubDown",
        "HdssSpawnFailures",
        "HdssDiskNearlyFull",
        "HdssAuditVerifyFailing",
    } <= names


def test_a_broken_rule_fails_promtool_check(tmp_path):
    """Positive control of the check above: promtool does refuse a bad expression."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "up =="}]}]})
    )
    assert promtool("check", "rules", str(bad)).returncode != 0


# (alert, input series, minute to evaluate at, labels of the alerts expected then)
CASES = [
    ("HdssHubDown", [('up{job="hdss-hub"}', "1 1 0 0 0 0 0")], 6, [{"job": "hdss-hub"}]),
    ("HdssHubDown", [('up{job="hdss-hub"}', "1 1 1 1 1 1 1")], 6, []),
    ("HdssHubDown", [('up{job="hdss-ledger"}', "1 1 1 1 1 1 1")], 6, [{"job": "hdss-hub"}]),
    (
        "HdssSpawnFailures",
        [('jupyterhub_server_spawn_duration_seconds_count{status="failure"}', "0 1 2 3 4 5 6")],
        6,
        [{}],
    ),
    (
        "HdssSpawnFailures",
        [
            (
                'jupyterhub_server_spawn_duration_seconds_count{status="success"}',
                "0 5 10 20 40 80 99",
            ),
            ('jupyterhub_server_spawn_duration_seconds_count{status="failure"}', "0 0 0 0 0 1 1"),
        ],
        6,
        [],
    ),
    (
        "HdssDiskNearlyFull",
        [
            ('node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"}', "5x15"),
            ('node_filesystem_size_bytes{mountpoint="/",fstype="ext4"}', "100x15"),
            ('node_filesystem_avail_bytes{mountpoint="/run",fstype="tmpfs"}', "1x15"),
            ('node_filesystem_size_bytes{mountpoint="/run",fstype="tmpfs"}', "100x15"),
        ],
        12,
        [{"mountpoint": "/", "fstype": "ext4"}],
    ),
    (
        "HdssDiskNearlyFull",
        [
            ('node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"}', "50x15"),
            ('node_filesystem_size_bytes{mountpoint="/",fstype="ext4"}', "100x15"),
        ],
        12,
        [],
    ),
    (
        "HdssAuditVerifyFailing",
        [('hdss_audit_verify_ok{job="hdss-ledger"}', "1 1 0 0")],
        3,
        [{"job": "hdss-ledger"}],
    ),
    ("HdssAuditVerifyFailing", [('hdss_audit_verify_ok{job="hdss-ledger"}', "1 1 1 1")], 3, []),
    ("HdssAuditVerifyMissing", [('up{job="hdss-hub"}', "1x15")], 12, [{}]),
    (
        "HdssBackupFailing",
        [('hdss_backup_last_run_success{job="node"}', "1 0")],
        1,
        [{"job": "node"}],
    ),
]


def test_each_alert_fires_on_its_cause_and_not_on_a_healthy_host(rules, tmp_path):
    # The annotations are free text (checked above); the unit tests compare labels only.
    doc = yaml.safe_load(rules.read_text())
    severity = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
            severity[rule["alert"]] = rule["labels"]["severity"]
    bare = tmp_path / "rules.yml"
    bare.write_text(yaml.safe_dump(doc))
    tests = []
    for alert, series, minute, expected in CASES:
        tests.append(
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": [
                    {
                        "eval_time": f"{minute}m",
                        "alertname": alert,
                        "exp_alerts": [
                            {"exp_labels": {**labels, "severity": severity[alert]}}
                            for labels in expected
                        ],
                    }
                ],
            }
        )
    spec = tmp_path / "tests.yml"
    spec.write_text(
        yaml.safe_dump({"rule_files": [str(bare)], "evaluation_interval": "1m", "tests": tests})
    )
    proc = promtool("test", "rules", str(spec))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_scrape_configuration_passes_promtool_check(tmp_path):
    config = render(
        "prometheus.yml.j2",
        tmp_path / "prometheus.yml",
        hdss_metrics_hub_url="https://hub.example.dk",
    )
    doc = yaml.safe_load(config.read_text())
    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    assert set(jobs) == {"prometheus", "node", "hdss-hub", "hdss-ledger", "hdss-promotion"}
    hub = jobs["hdss-hub"]
    assert (hub["scheme"], hub["metrics_path"]) == ("https", "/hub/metrics")
    assert hub["static_configs"] == [{"targets": ["hub.example.dk"]}]
    assert jobs["hdss-ledger"]["metrics_path"] == "/services/ledger/metrics"
    # The token is read from a file, never written into the configuration.
    assert hub["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/hdss-metrics-token",
    }
    proc = promtool("check", "config", "--syntax-only", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
