"""The secure servers' host firewall: names that fit Linux, rules that apply and check."""

from __future__ import annotations

import os
import shutil

import pytest
from hdss_common import naming
from hdss_hub.firewall import SecureFirewall, run

from tests.conftest import require, unique_prefix


def test_bridge_names_fit_linux_and_share_the_deployments_prefix():
    base = "hdss-sandbox-secure"
    a, b = naming.secure_bridge(base, "diab-2026"), naming.secure_bridge(base, "heart-2026")
    assert len(a) == len(b) == 15  # IFNAMSIZ - 1
    assert a != b and a[:7] == b[:7] == naming.secure_bridge_prefix(base)
    other = naming.secure_bridge("other-deployment-secure", "diab-2026")
    assert other[:7] != a[:7]
    assert naming.firewall_chain(base) != naming.firewall_chain("other-deployment-secure")
    assert len(naming.firewall_chain(base)) <= 28  # iptables' chain name limit


def test_project_networks_are_per_project():
    base = "hdss-sandbox-secure"
    assert naming.secure_network(base, "p1") != naming.secure_network(base, "p2")
    assert naming.secure_network(base, "p1").startswith(base)


@pytest.fixture
def firewall():
    require(os.geteuid() == 0 and bool(shutil.which("iptables")), "needs root and iptables")
    fw = SecureFirewall(f"{unique_prefix('fw')}-net-secure", "192.0.2.250", 18081)
    yield fw
    fw.remove()


def test_apply_is_idempotent_and_checks_clean(firewall):
    firewall.apply()
    firewall.apply()
    assert firewall.problems() == ""
    jumps = [line for line in run(["-S", "INPUT"]).stdout.splitlines() if firewall.chain in line]
    assert len(jumps) == 1


def test_a_missing_rule_or_jump_is_reported(firewall):
    firewall.apply()
    run(["-D", *firewall.rules()[1][1:]])  # the hub API's accept rule
    assert "lacks the rule" in firewall.problems()
    firewall.apply()
    run(["-D", *firewall.jump()])
    assert "does not jump" in firewall.problems()
    firewall.remove()
    assert "does not exist" in firewall.problems()
