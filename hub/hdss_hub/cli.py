"""`python -m hdss_hub.cli`: check the settings and read values for scripts.

check            validate the settings (env HDSS_SETTINGS, else the embedded defaults)
get KEY...       print effective values, one a line, e.g. `get hub.state_dir`
login-help       how to log in with the embedded first-run login (no secret printed)
firewall apply|check|remove   the secure servers' host firewall (run as root)

`audit_main` is the installed `hdss-audit` (verify/export the audit log with the settings'
database and anchor).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hdss_common.errors import HdssError

from .settings import SETTINGS_ENV, SettingsError, load_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _get(settings: dict, key: str):
    node = settings
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SettingsError(f"no setting {key!r}")
        node = node[part]
    return node


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hdss-hub", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the settings")
    get = sub.add_parser("get", help="print effective settings, one a line")
    get.add_argument("key", nargs="+")
    sub.add_parser("login-help", help="how to log in the first time")
    fw = sub.add_parser("firewall", help="the secure servers' host firewall (as root)")
    fw.add_argument("action", choices=["apply", "check", "remove"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ.get(SETTINGS_ENV), PROJECT_DIR)
        if args.command == "check":
            print("settings ok")
        elif args.command == "get":
            values = [_get(settings, key) for key in args.key]
            for value in values:
                print(" ".join(value) if isinstance(value, list) else value)
        elif args.command == "login-help":
            print(login_help(settings))
        elif args.command == "firewall":
            return firewall_command(settings, args.action)
    except HdssError as e:  # settings, preflight, firewall: the message says what to fix
        print(f"hdss: {e}", file=sys.stderr)
        return 1
    return 0


def firewall_command(settings: dict, action: str) -> int:
    """Apply, check or remove the secure servers' firewall for these settings."""
    from .configure import run_preflight_engine, secure_firewall

    hub_ip = run_preflight_engine(settings)
    fw = secure_firewall(settings, hub_ip)
    if action == "apply":
        fw.apply()
        print(f"firewall {fw.chain} applied: secure bridges {fw.interfaces} reach only {hub_ip}")
    elif action == "remove":
        fw.remove()
        print(f"firewall {fw.chain} removed")
    else:
        problem = fw.problems()
        print(problem or f"firewall {fw.chain} in place")
        return 1 if problem else 0
    return 0


def login_help(settings: dict) -> str:
    from . import firstrun  # imports JupyterHub's authenticators: not for every `get`

    url = settings["hub"]["bind_url"]
    if settings["auth"]["kind"] != "firstrun":
        return f"Open {url} and log in with your university account."
    secrets = Path(settings["hub"]["state_dir"], "secrets")
    named = firstrun.privileged_users(settings)
    lines = [f"Open {url}"]
    if named:
        folder = firstrun.password_file(settings["hub"]["state_dir"], "USERNAME").parent
        lines.append(
            f"  {', '.join(named)}: each their own password in {folder}/<username>  (cat it as root)"
        )
    lines += [
        f"  students (any other name): the shared password in {secrets / 'user-password'}",
        "  Switch to university single sign-on with auth.kind: oidc in the settings file.",
    ]
    return "\n".join(lines)


def audit_main(argv: list[str] | None = None) -> int:
    """``hdss-audit``: the audit log's command, finding the database and the anchor in the
    settings when neither an option nor the environment names them.

    It lives here, not in ``hdss_hub.audit``, because the audit package sits below the
    settings in the layers (tests/test_layers.py); this module wires the two together.
    """
    from .audit import cli as audit_cli
    from .ledger.hubconfig import audit_anchor, db_url

    def from_settings() -> audit_cli.Defaults:
        path = os.environ.get(SETTINGS_ENV)
        settings = load_settings(path, PROJECT_DIR)
        origin = f"the settings ({path or 'embedded defaults'})"
        if not settings["ledger"].get("enabled"):
            return audit_cli.Defaults(db_url(settings), None, origin)
        return audit_cli.Defaults(db_url(settings), audit_anchor(settings), origin)

    return audit_cli.main(argv, fallback=from_settings)


if __name__ == "__main__":
    sys.exit(main())
