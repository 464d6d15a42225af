"""Apply the deployment settings to JupyterHub's traitlets config.

Each ``apply_*`` function is pure: it reads the settings and *sets* values on ``c``
(never appends or mutates what another function set), so unit tests run them against
a bare ``traitlets.config.Config()``. ``configure`` is what jupyterhub_config.py calls:
settings, then preflight checks, then every ``apply_*``.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hdss_common.errors import HdssError
from hdss_common.secretfiles import SecretFileError
from hdss_common.secretfiles import ensure_secret_file as ensure_secret
from traitlets.config import Config

from . import firstrun, oidc, pages, preflight
from .courses import CourseError
from .courses import hubconfig as courses_hub
from .firewall import FirewallError, SecureFirewall
from .settings import SettingsError, load_settings

log = logging.getLogger(__name__)

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"

CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


class HubStartError(HdssError):
    """The hub cannot start with these settings; the message says what to do."""


def state_path(settings: dict[str, Any], *parts: str) -> Path:
    return Path(settings["hub"]["state_dir"], *parts)


def proxy_api_url(settings: dict[str, Any]) -> str:
    """The proxy's REST API: loopback, one port above the public one."""
    port = urlparse(settings["hub"]["bind_url"]).port or 80
    return f"http://127.0.0.1:{port + 1}"


def default_proxy_command(project_dir: Path) -> list[str]:
    """configurable-http-proxy as `make up` installs it (.tools/), else from PATH."""
    local = project_dir / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return [str(local)]
    return [shutil.which("configurable-http-proxy") or "configurable-http-proxy"]


def ledger_enabled(settings: dict[str, Any]) -> bool:
    return bool(settings["ledger"].get("enabled"))


def secure_network(settings: dict[str, Any]) -> str:
    return f"{settings['docker']['network']}-secure"


def apply_hub(settings: dict[str, Any], c: Config, hub_ip: str, project_dir: Path) -> None:
    """Where the hub listens, its database, secrets and proxy.

    The hub listens on one container-network gateway only (``hub_ip``, chosen by
    preflight), never on all addresses.
    """
    hub = settings["hub"]
    hub_url = f"http://{hub_ip}:{hub['hub_port']}"
    c.JupyterHub.bind_url = hub["bind_url"]
    c.JupyterHub.hub_bind_url = hub_url
    c.JupyterHub.hub_connect_url = hub_url
    c.JupyterHub.db_url = (
        hub.get("db_url") or f"sqlite:///{state_path(settings, 'jupyterhub.sqlite')}"
    )
    c.JupyterHub.cookie_secret_file = str(state_path(settings, "secrets", "cookie_secret"))
    c.JupyterHub.pid_file = str(state_path(settings, "jupyterhub.pid"))
    # Servers outlive a hub restart: the hub finds them again from its database.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.allow_named_servers = True
    c.JupyterHub.named_server_limit_per_user = 5
    c.ConfigurableHTTPProxy.api_url = proxy_api_url(settings)
    c.ConfigurableHTTPProxy.pid_file = str(state_path(settings, "proxy.pid"))
    c.ConfigurableHTTPProxy.auth_token = ensure_secret(
        state_path(settings, "secrets", "proxy_token")
    )
    c.ConfigurableHTTPProxy.command = hub.get("proxy_command") or default_proxy_command(project_dir)
    c.Authenticator.admin_users = set(hub.get("admin_users", []))
    c.Authenticator.username_pattern = USERNAME_PATTERN


def apply_firstrun_auth(settings: dict[str, Any], c: Config) -> None:
    """The embedded login: a shared password for students, a personal one for the rest.

    Every password is generated into its own file of mode 0600 in the state directory
    (see hdss_hub.firstrun: the shared one never opens an admin's, a steward's or a
    researcher's account).
    """
    if settings["auth"]["kind"] != "firstrun":
        return
    c.JupyterHub.authenticator_class = "hdss_hub.firstrun.FirstRunAuthenticator"
    a = c.FirstRunAuthenticator
    a.user_password = ensure_secret(state_path(settings, "secrets", "user-password"), nbytes=18)
    a.personal_passwords = {
        name: ensure_secret(firstrun.password_file(settings["hub"]["state_dir"], name), nbytes=18)
        for name in firstrun.privileged_users(settings)
    }
    a.default_groups = list(settings["auth"].get("default_groups", []))
    c.Authenticator.allow_all = True


def apply_groups(settings: dict[str, Any], c: Config) -> None:
    """Hub groups and their members as the settings list them.

    With university login (auth.kind oidc) the authenticator manages groups instead: it
    merges these memberships into the provider's at each login (see hdss_hub.oidc).
    """
    if settings["auth"].get("kind") == "oidc":
        c.JupyterHub.load_groups = {}
        return
    c.JupyterHub.load_groups = {
        group: {"users": list(users)} for group, users in settings.get("groups", {}).items()
    }


def apply_spawner(settings: dict[str, Any], c: Config) -> None:
    """SandboxSpawner with the settings' engine, image, profiles, data roots and ledger."""
    d = settings["docker"]
    c.JupyterHub.spawner_class = "hdss_spawner.spawner.SandboxSpawner"
    s = c.SandboxSpawner
    s.client_kwargs = {"base_url": d["host"]}
    s.image = d["image"]
    s.pull_policy = "never"  # images are built here (make images); there is no registry
    s.prefix = d["prefix"]
    s.home_volume = d.get("home_volume", "{prefix}-home-{username}")
    s.network_name = d["network"]
    s.pids_limit = d["pids_limit"]
    s.start_timeout = d["start_timeout"] + d["queue_wait_seconds"]  # the wait in line too
    s.http_timeout = d["start_timeout"]
    s.profiles = settings["profiles"]
    # With university login the provider's groups decide; nobody gets a group by default.
    firstrun = settings["auth"]["kind"] == "firstrun"
    s.default_groups = list(settings["auth"].get("default_groups", [])) if firstrun else []
    s.synthetic_root = settings["data"]["synthetic_root"]
    s.restricted_root = settings["data"].get("restricted_root", "")
    s.default_url = "/lab"
    if ledger_enabled(settings):
        from .ledger.hubconfig import audit_anchor, db_url
        from .ledger.hubside import LedgerPermissions

        s.permission_source = LedgerPermissions(
            db_url(settings), s.restricted_root, anchor=audit_anchor(settings)
        )
        s.steward_group = settings["ledger"]["steward_group"]
        s.secure_network = secure_network(settings)
        s.secure_max_read_bytes = settings["ledger"]["secure_max_read_bytes"]


# What a sandbox spawner shares whatever runs it (hdss_spawner.base.SandboxBase): set on
# SandboxSpawner by the apply functions, given to SlurmSandboxSpawner as they are.
SHARED_SPAWNER_TRAITS = (
    "profiles",
    "default_groups",
    "synthetic_root",
    "restricted_root",
    "permission_source",
    "steward_group",
    "secure_max_read_bytes",
    "home_notice",
    "course_gate",
    "default_url",
)


def apply_slurm(settings: dict[str, Any], c: Config) -> None:
    """``backend: slurm``: servers as Slurm jobs (hdss_slurm.spawner), same policy.

    Runs after every other apply function: it hands SlurmSandboxSpawner what they set on
    SandboxSpawner (profiles, ledger, courses, notices).
    """
    if settings.get("backend", "docker") != "slurm":
        return
    # Imported now, before the hub builds its handlers: importing batchspawner registers
    # its /api/batchspawner handler, which hdss_slurm.spawner removes again.
    import hdss_slurm.spawner  # noqa: F401

    sl = settings["slurm"]
    c.JupyterHub.spawner_class = "hdss_slurm.spawner.SlurmSandboxSpawner"
    s = c.SlurmSandboxSpawner
    for name in SHARED_SPAWNER_TRAITS:
        if name in c.SandboxSpawner:
            s[name] = c.SandboxSpawner[name]
    s.image = sl["image"]
    s.default_partition = sl["partition"]
    s.secure_partition = sl["secure_partition"]
    s.default_time_limit = sl["time_limit"]
    s.home_root = sl["home_root"]
    s.hub_home_root = sl.get("hub_home_root", "")
    s.job_uid = sl["job_uid"]
    s.job_gid = sl["job_gid"]
    s.node_addresses = dict(sl.get("node_addresses", {}))
    s.slurm_env = {"SLURM_CONF": sl["slurm_conf"]} if sl.get("slurm_conf") else {}
    s.start_timeout = sl["start_timeout"]
    s.http_timeout = settings["docker"]["start_timeout"]
    if sl.get("hub_ip"):  # the nodes reach the hub's API here (another host's network)
        url = f"http://{sl['hub_ip']}:{settings['hub']['hub_port']}"
        c.JupyterHub.hub_bind_url = url
        c.JupyterHub.hub_connect_url = url


SERVER_MEMORY_ESTIMATE = 128 * 1024**2  # a working course server (idle ~57 MiB)


def host_memory() -> int:
    """Bytes of memory on this host."""
    import os

    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def apply_capacity(settings: dict[str, Any], c: Config) -> None:
    """A class rush waits in line instead of failing (see hdss_spawner.startqueue).

    The hub lets up to ``hub.concurrent_spawn_limit`` spawns be pending; of those,
    ``docker.starting_at_once`` start at a time and the rest wait in order (a spawn's
    start_timeout, set in apply_spawner, covers its wait in line and its start).
    """
    hub, d = settings["hub"], settings["docker"]
    c.JupyterHub.concurrent_spawn_limit = hub["concurrent_spawn_limit"]
    c.JupyterHub.active_server_limit = hub["active_server_limit"] or max(
        10, host_memory() // SERVER_MEMORY_ESTIMATE
    )
    c.SandboxSpawner.starting_at_once = d["starting_at_once"]
    c.SandboxSpawner.queue_wait_seconds = d["queue_wait_seconds"]


def culler_service(settings: dict[str, Any]) -> list[dict[str, Any]]:
    culler = settings["culler"]
    if not culler.get("enabled", True):
        return []
    return [
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "hdss_hub.culler",  # jupyterhub_idle_culler, stoppable by the hub's SIGINT
                f"--timeout={culler['timeout_seconds']}",
                f"--cull-every={culler['every_seconds']}",
            ],
        }
    ]


def culler_roles(settings: dict[str, Any]) -> list[dict[str, Any]]:
    if not settings["culler"].get("enabled", True):
        return []
    return [
        {
            "name": "idle-culler",
            "description": "Stop servers idle longer than culler.timeout_seconds",
            "scopes": CULLER_SCOPES,
            "services": ["idle-culler"],
        }
    ]


def apply_services(settings: dict[str, Any], c: Config) -> None:
    """Hub-managed services and their least-privilege roles, set in one place."""
    services, roles = culler_service(settings), culler_roles(settings)
    course_services, course_roles = courses_hub.course_services(settings)
    services, roles = services + course_services, roles + course_roles
    if settings["ledger"].get("enabled"):
        from .ledger import hubconfig as ledger
        from .promotion import hubconfig as promotion

        services += ledger.ledger_services(settings)
        roles += ledger.ledger_roles(settings)
        c.JupyterHub.custom_scopes = ledger.ledger_custom_scopes()
        services, roles = promotion.with_promotion(settings, services, roles)
    from . import prometheus  # a token that reads the hub's and the services' metrics

    services += prometheus.prometheus_services(settings)
    roles += prometheus.prometheus_roles(settings)
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles


def apply_all(
    settings: dict[str, Any],
    c: Config,
    runtime: dict[str, str],
    project_dir: Path,
    courses: tuple[list, dict] | None = None,
) -> None:
    """Every apply function; ``runtime`` holds what preflight found (the hub's address).

    ``courses``: the checked courses and their materials' snapshots, as
    ``courses_hub.prepare_courses`` returns them (None: prepared here); each course's group
    is offered the course's profiles.
    """
    course_list, snapshots = courses or courses_hub.prepare_courses(settings)
    settings = courses_hub.with_course_profiles(settings, course_list)
    gate = courses_hub.make_gate(settings, course_list, snapshots) if course_list else None
    apply_hub(settings, c, runtime["hub_ip"], project_dir)
    apply_firstrun_auth(settings, c)
    oidc.apply_oidc(settings, c)
    apply_groups(settings, c)
    apply_spawner(settings, c)
    from .secure_audit import apply_secure_audit  # imports JupyterHub's handlers

    apply_secure_audit(settings, c)
    apply_capacity(settings, c)
    apply_services(settings, c)
    pages.apply_pages(settings, c, courses=gate)
    if gate is not None:
        courses_hub.apply_courses(settings, c, gate)
    pages.apply_usage(settings, c, courses=gate)
    apply_slurm(settings, c)


def check_login_exposure(settings: dict[str, Any]) -> None:
    """Refuse the shared first-run login in public while restricted data is served."""
    from .promotion import hubconfig as promotion

    services = [
        "ledger" if ledger_enabled(settings) else "",
        "promotion" if promotion.enabled(settings) else "",
    ]
    problem = firstrun.check_exposure(settings, services)
    if problem:
        raise SettingsError(problem)


def run_preflight(settings: dict[str, Any]) -> dict[str, str]:
    """Check the engine, image, data and ports; prepare the networks; pick the hub's address.

    Sandbox containers reach any gateway address of the host, but an ``--internal``
    network reaches only its own gateway, so with the ledger (secure servers) on, the hub
    listens on the secure network's gateway and everyone connects there.
    """
    hub = settings["hub"]
    preflight.check_data_root(settings["data"]["synthetic_root"])
    if ledger_enabled(settings):
        from .ledger.hubconfig import db_url

        preflight.check_database(db_url(settings), "ledger.db_url")
    proxy_pid = state_path(settings, "proxy.pid")
    preflight.check_port_free(hub["bind_url"], "the public proxy", "hub.bind_url", proxy_pid)
    preflight.check_port_free(proxy_api_url(settings), "the proxy API", "hub.bind_url", proxy_pid)
    hub_ip = run_preflight_engine(settings)
    preflight.check_port_free(f"http://{hub_ip}:{hub['hub_port']}", "the hub API", "hub.hub_port")
    if ledger_enabled(settings):
        preflight.check_restricted_root(settings["data"].get("restricted_root"))
        guard_secure_networks(settings, hub_ip)
    return {"hub_ip": hub_ip}


def run_preflight_engine(settings: dict[str, Any]) -> str:
    """The engine answers, the image is there, the networks exist; the hub's address."""
    client = preflight.docker_client(settings["docker"]["host"])
    try:
        preflight.check_image(client, settings["docker"]["image"])
        hub_ip = preflight.ensure_network(client, settings["docker"]["network"])
        if ledger_enabled(settings):
            hub_ip = preflight.ensure_network(client, secure_network(settings), internal=True)
    finally:
        client.close()
    return hub_ip


def secure_firewall(settings: dict[str, Any], hub_ip: str) -> SecureFirewall:
    return SecureFirewall(secure_network(settings), hub_ip, int(settings["hub"]["hub_port"]))


def guard_secure_networks(settings: dict[str, Any], hub_ip: str) -> None:
    """Apply (or, when the operator applies it, check) the secure servers' host firewall."""
    fw = secure_firewall(settings, hub_ip)
    if settings["docker"].get("secure_firewall", "hub") == "hub":
        fw.apply()
        return
    try:
        problem = fw.problems()
    except FirewallError as e:  # not root: the operator's word is all there is
        log.warning("cannot read the secure servers' firewall (%s); trusting the operator", e)
        return
    if problem:
        raise FirewallError(
            f"docker.secure_firewall is external but {problem}: apply it as root with "
            "`python -m hdss_hub.cli firewall apply` before starting the hub"
        )


def configure(c: Config, settings_path: str | None, project_dir: Path) -> dict[str, Any]:
    """Load, check and apply the settings; HubStartError with one clear message otherwise."""
    try:
        settings = load_settings(settings_path, project_dir)
        check_login_exposure(settings)
        preflight.check_state_dir(settings["hub"]["state_dir"])
        courses = courses_hub.prepare_courses(settings)
        runtime = run_preflight(settings)
        apply_all(settings, c, runtime, project_dir, courses)
        pages.start_usage_collector(settings)
    except (
        SettingsError,
        preflight.PreflightError,
        SecretFileError,
        FirewallError,
        CourseError,
    ) as e:
        raise HubStartError(str(e)) from e
    return settings


def extra_config_files(settings: dict[str, Any]) -> list[Path]:
    """The escape hatch: *.py files in hub.extra_config_dir, loaded after the settings."""
    folder = settings["hub"].get("extra_config_dir")
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(Path(folder).glob("*.py"))
