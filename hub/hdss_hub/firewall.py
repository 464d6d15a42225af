"""Host firewall for secure servers: from a secure network, only the hub's API answers.

A container on a Docker ``--internal`` network cannot leave the host, but the host itself
answers it: its gateway address, and every other address of the host, reach whatever
listens there (the hub's pages, a TLS front, sshd...). Each project's secure network gets
a bridge named ``<prefix><project digest>`` (hdss_common.naming.secure_bridge), so one
chain per deployment, jumped to from INPUT for every such bridge, lets through only

* replies to connections the host opened (the proxy talking to the server), and
* TCP to the hub's API address and port,

and rejects everything else. The hub applies the chain at start when it runs as root
(``docker.secure_firewall: hub``, the default); where it runs as another user, the
operator applies it as root with ``python -m hdss_hub.cli firewall apply`` (Ansible does,
``docker.secure_firewall: external``) and the hub only checks it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from hdss_common import naming
from hdss_common.errors import HdssError

IPTABLES = ("/usr/sbin/iptables", "/sbin/iptables")


class FirewallError(HdssError):
    """The rules could not be applied or read; the message says what to do."""


@dataclass(frozen=True)
class SecureFirewall:
    """The rules of one deployment: its secure networks' base name and the hub's API."""

    base: str  # the secure networks' base name (settings docker.network + "-secure")
    hub_ip: str
    hub_port: int

    @property
    def chain(self) -> str:
        return naming.firewall_chain(self.base)

    @property
    def interfaces(self) -> str:
        return naming.secure_bridge_prefix(self.base) + "+"

    def jump(self) -> list[str]:
        return ["INPUT", "-i", self.interfaces, "-j", self.chain]

    def rules(self) -> list[list[str]]:
        """The chain's rules, in order."""
        c = self.chain
        return [
            ["-A", c, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            [
                "-A",
                c,
                "-p",
                "tcp",
                "-d",
                self.hub_ip,
                "--dport",
                str(self.hub_port),
                "-j",
                "ACCEPT",
            ],
            ["-A", c, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
            ["-A", c, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
        ]

    def apply(self) -> None:
        """Create (or refresh) the chain and its INPUT jump; idempotent."""
        if run(["-n", "-L", self.chain], check=False).returncode != 0:
            run(["-N", self.chain])
        run(["-F", self.chain])
        for rule in self.rules():
            run(rule)
        if run(["-C", *self.jump()], check=False).returncode != 0:
            run(["-I", *self.jump()[:1], "1", *self.jump()[1:]])

    def remove(self) -> None:
        """Take the chain and its jump away (a deployment or a test going away)."""
        while run(["-C", *self.jump()], check=False).returncode == 0:
            run(["-D", *self.jump()])
        if run(["-n", "-L", self.chain], check=False).returncode == 0:
            run(["-F", self.chain])
            run(["-X", self.chain])

    def problems(self) -> str:
        """What is missing from the applied rules ('' when they are all in place)."""
        if run(["-n", "-L", self.chain], check=False).returncode != 0:
            return f"the chain {self.chain} does not exist"
        for rule in self.rules():
            if run(["-C", *rule[1:]], check=False).returncode != 0:
                return f"the chain {self.chain} lacks the rule {' '.join(rule[2:])}"
        if run(["-C", *self.jump()], check=False).returncode != 0:
            return f"INPUT does not jump to {self.chain} for {self.interfaces}"
        return ""


def iptables() -> str:
    for path in IPTABLES:
        if shutil.which(path):
            return path
    found = shutil.which("iptables")
    if not found:
        raise FirewallError(
            "iptables is not installed, and secure servers need host firewall rules: "
            "install it (apt-get install iptables) or turn the ledger off (ledger.enabled)"
        )
    return found


def run(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """One iptables call (with the xtables lock, waiting up to 10 s for it)."""
    try:
        done = subprocess.run(
            [iptables(), "-w", "10", *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FirewallError(f"iptables {' '.join(args)} could not run: {e}") from e
    if check and done.returncode != 0:
        raise FirewallError(
            f"iptables {' '.join(args)} failed: {done.stderr.strip() or done.returncode}. "
            "The hub must run as root to apply the secure servers' firewall; otherwise apply "
            "it as root (`python -m hdss_hub.cli firewall apply`) and set "
            "docker.secure_firewall: external"
        )
    return done
