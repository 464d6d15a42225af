"""What each user's servers used: CPU hours, peak memory, server hours, home disk use.

A small collector in the hub samples the engine every ``usage.sample_seconds``: one
one-shot ``stats`` call per running server (what ``docker stats`` shows, without its
streaming) and, every ``usage.disk_every_seconds``, the engine's disk-usage report for the
home volumes (one ``system df`` call sizes every volume). The engine calls run in a thread
of their own, never on the hub's event loop; the figures are folded into running totals
per user and kept in ``<state_dir>/usage.json``.

Why a JSON file and not a table: there is one writer (this collector, in the hub
process), one row per user, and the readers are the same process's pages, which read the
in-memory copy. A file replaced atomically (write, fsync, rename) is never seen half
written, needs no migration and is backed up with the rest of the state directory.

Figures are sampled: the CPU a server used between its last sample and its stop (at most
``sample_seconds``) is not counted, and server hours count from the container's start.

Home quotas (``home_quota`` of a profile) are checked against these figures: a user near
the limit is warned on the home page, a user over it is told on the spawn page and can
still start a server to delete files. Nothing is enforced in the file system: a write
over the quota succeeds (no bytes are lost), it is only reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdss_common import naming
from hdss_spawner.profiles import SECURE, offered, parse_profiles

log = logging.getLogger(__name__)

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^([0-9]+)([KMGT]?)$")


def parse_size(text: str) -> int:
    """Bytes of a size such as ``5G`` (binary units, as the profiles' mem_limit)."""
    m = _SIZE.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a size; write e.g. 500M or 5G")
    return int(m.group(1)) * _UNITS[m.group(2)]


def human(n: float | None) -> str:
    """1536 -> '1.5 KiB'."""
    if n is None:
        return "not measured yet"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# -- quotas --------------------------------------------------------------------------------


def quota_for(profiles: Mapping[str, dict], groups: Iterable[str]) -> int | None:
    """The home quota (bytes) of a member of ``groups``: the largest of their sandbox
    profiles' ``home_quota`` (all share one home volume); None when none sets one."""
    offered_names = {p.name for p in offered(parse_profiles(dict(profiles)), list(groups))}
    quotas = [
        parse_size(spec["home_quota"])
        for name, spec in profiles.items()
        if name in offered_names and spec.get("kind", "sandbox") != SECURE and "home_quota" in spec
    ]
    return max(quotas) if quotas else None


@dataclass(frozen=True)
class HomeStatus:
    used: int | None  # bytes; None: not measured yet
    quota: int | None
    level: str  # "", "near" or "over"
    message: str

    @property
    def percent(self) -> int | None:
        if self.used is None or not self.quota:
            return None
        return round(100 * self.used / self.quota)


def home_status(used: int | None, quota: int | None, warn_fraction: float) -> HomeStatus:
    """Where a home stands against its quota, in words a student can act on."""
    if used is None or quota is None:
        return HomeStatus(used, quota, "", "")
    if used > quota:
        return HomeStatus(
            used,
            quota,
            "over",
            f"Your home folder uses {human(used)}, over its quota of {human(quota)}. "
            "You can still start your server: delete or move files until it is under.",
        )
    if used >= warn_fraction * quota:
        return HomeStatus(
            used,
            quota,
            "near",
            f"Your home folder uses {human(used)} of its {human(quota)} quota. "
            "Delete files you no longer need before it is full.",
        )
    return HomeStatus(used, quota, "", "")


# -- the store -----------------------------------------------------------------------------


def empty() -> dict[str, Any]:
    return {"users": {}, "containers": {}, "homes_measured_at": None}


class UsageStore:
    """The figures in memory, saved atomically to a JSON file (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.data = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return empty()
        except (OSError, ValueError) as e:
            log.error("usage: %s cannot be read (%s); starting from zero", self.path, e)
            return empty()
        return {**empty(), **data}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".usage-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.data, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def user(self, name: str) -> dict[str, Any]:
        return self.data["users"].get(name, {})


@dataclass(frozen=True)
class Sample:
    """One running server's figures from one one-shot stats call."""

    container_id: str
    user: str
    started_at: float  # epoch seconds
    cpu_ns: int  # CPU used since the container started
    memory_peak: int  # bytes


def fold(data: dict[str, Any], samples: Iterable[Sample], now: float) -> None:
    """Add what each server used since its previous sample to its user's totals."""
    before = data["containers"]
    seen: dict[str, Any] = {}
    for s in samples:
        prev = before.get(s.container_id, {"cpu_ns": 0, "at": s.started_at})
        u = data["users"].setdefault(s.user, {})
        u["cpu_seconds"] = u.get("cpu_seconds", 0.0) + max(0, s.cpu_ns - prev["cpu_ns"]) / 1e9
        u["server_seconds"] = u.get("server_seconds", 0.0) + max(0.0, now - prev["at"])
        u["memory_peak"] = max(u.get("memory_peak", 0), s.memory_peak)
        u["last_sample"] = now
        seen[s.container_id] = {"user": s.user, "cpu_ns": s.cpu_ns, "at": now}
    data["containers"] = seen  # stopped servers drop out; their totals stay


def fold_homes(data: dict[str, Any], sizes: Mapping[str, int], now: float) -> None:
    """Record each user's home size (``sizes``: user -> bytes)."""
    for user, size in sizes.items():
        data["users"].setdefault(user, {})["home_bytes"] = size
    data["homes_measured_at"] = now


# -- the engine ----------------------------------------------------------------------------


def stats_sample(client, container_id: str, user: str) -> Sample | None:
    """One one-shot stats call (no two-second CPU averaging); None if it is gone."""
    import docker.errors

    try:
        st = client.api.stats(container_id, stream=False, one_shot=True)
        info = client.api.inspect_container(container_id)
    except docker.errors.NotFound:
        return None
    mem = st.get("memory_stats") or {}
    cpu = ((st.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage", 0)
    started = _epoch(info["State"].get("StartedAt", ""))
    return Sample(
        container_id, user, started, int(cpu), int(mem.get("max_usage") or mem.get("usage") or 0)
    )


def _epoch(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds -> epoch seconds."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", stamp)
    if not m:
        return time.time()
    base = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.UTC)
    return base.timestamp() + float(m.group(2) or 0)


def volume_sizes(client, wanted: Mapping[str, str]) -> dict[str, int]:
    """Sizes of the volumes in ``wanted`` (volume name -> user), by user, in one df call."""
    report = client.df()
    sizes = {}
    for v in report.get("Volumes") or []:
        user = wanted.get(v.get("Name"))
        size = (v.get("UsageData") or {}).get("Size", -1)
        if user is not None and size >= 0:
            sizes[user] = int(size)
    return sizes


# -- the collector -------------------------------------------------------------------------

Servers = Callable[[], list[tuple[str, str]]]  # -> [(user, container id)] running now
Users = Callable[[], list[str]]


class Collector:
    """Samples the engine in a thread every ``every`` seconds; the loop only schedules."""

    def __init__(
        self,
        store: UsageStore,
        client_factory: Callable[[], Any],
        home_volume: Callable[[str], str],
        every: float,
        disk_every: float,
    ) -> None:
        self.store = store
        self.client_factory = client_factory
        self.home_volume = home_volume
        self.every = every
        self.disk_every = disk_every
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hdss-usage")
        self._client = None
        self._last_disk = 0.0

    def sample(self, servers: list[tuple[str, str]], users: list[str]) -> None:
        """One round (in the worker thread): stats of every server, homes when due."""
        if self._client is None:
            self._client = self.client_factory()
        now = time.time()
        samples = [s for u, cid in servers if (s := stats_sample(self._client, cid, u))]
        fold(self.store.data, samples, now)
        if now - self._last_disk >= self.disk_every:
            wanted = {self.home_volume(u): u for u in users}
            fold_homes(self.store.data, volume_sizes(self._client, wanted), now)
            self._last_disk = now
        self.store.save()

    async def run(self, servers: Servers, users: Users) -> None:
        """Sample until cancelled; an engine error is logged and the next round tried."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self._pool, self.sample, servers(), users())
            except Exception as e:  # the engine or a disk: never stop sampling for good
                log.warning("usage: this sample failed: %s", e)
            await asyncio.sleep(self.every)


def hub_servers(app) -> list[tuple[str, str]]:
    """(user, container id) of every running Docker server the hub knows, from memory."""
    out = []
    for user in list(app.users.values()):
        for spawner in list(user.spawners.values()):
            cid = getattr(spawner, "object_id", None)
            if cid and spawner.active:
                out.append((user.name, cid))
    return out


def hub_usernames(app) -> list[str]:
    from jupyterhub import orm

    return [name for (name,) in app.db.query(orm.User.name)]


def start_collector(settings: Mapping[str, Any], store: UsageStore) -> asyncio.Task | None:
    """Start sampling in the running hub (called while JupyterHub loads its config).

    The hub's application object is looked up at each round, so the collector starts
    when the hub has finished starting. Returns None outside a running event loop.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    u, d = settings["usage"], settings["docker"]
    template = d.get("home_volume", naming.HOME_VOLUME_TEMPLATE)

    def client():
        import docker

        return docker.DockerClient(base_url=d["host"], timeout=60)

    collector = Collector(
        store,
        client,
        lambda name: naming.home_volume(d["prefix"], name, template),
        u["sample_seconds"],
        u["disk_every_seconds"],
    )

    def app():
        from jupyterhub.app import JupyterHub

        return JupyterHub.instance() if JupyterHub.initialized() else None

    def servers():
        hub = app()
        return hub_servers(hub) if hub is not None and hasattr(hub, "users") else []

    def users():
        hub = app()
        return hub_usernames(hub) if hub is not None and hasattr(hub, "db") else []

    async def run():
        await asyncio.sleep(min(5.0, u["sample_seconds"]))  # let the hub finish starting
        await collector.run(servers, users)

    task = loop.create_task(run(), name="hdss-usage-collector")
    start_collector.task = task  # keep a reference: the loop holds tasks weakly
    return task
