"""Run promoted notebooks with papermill in a container under the secure profile's policy.

The container: the image recorded at the snapshot (by id, so an image rebuilt since cannot
slip in), the permitted restricted dataset read-only at /data/restricted/<name> (and no
other mount), no network at all (stricter than the secure servers' internal network: a
batch run needs no hub), uid 1000, every capability dropped, no-new-privileges and a pids
limit. Each run is bounded by the settings ``promotion.run_limits`` (:data:`SETTING`):

- ``memory`` and ``cpus``: the container's limits, with swap equal to memory so a run
  cannot swap past it; an OOM kill fails the run;
- ``seconds``: a deadline after which the container is killed;
- ``disk``: the root file system is read-only and every place a run writes is a tmpfs of
  that size (the outbox, and /tmp, which is also its home and working folder; /dev/shm
  gets at most 64 MiB of it). Their files live in memory and count toward ``memory``.
  A full one fails the run;
- ``output``: the outbox is copied out as a stream and refused past that size.

A run that exceeds one fails with a message naming the setting, and nothing of it is kept
or released. The engine's archive API cannot see into tmpfs mounts (Docker 20.10 reads
and writes the layer beneath them, and refuses a read-only root file system), so the
container runs a waiting shell as its main process, and everything else is an exec in it:
the code goes in as a tar on an exec's stdin (root-owned, read-only to the notebook), the
notebooks run as one exec whose exit code no notebook can fake, and the outbox comes out
as a tar on an exec's stdout.
"""

from __future__ import annotations

import logging
import re
import socket
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePosixPath

import docker
from docker.utils.socket import frames_iter
from hdss_common.containers import NON_ROOT_USER, hardened_host_config
from hdss_common.errors import PolicyViolation

from .paths import safe_relpath
from .workspace import File, TooLarge, WorkspaceError, read_archive

log = logging.getLogger(__name__)
MAX_LOG = 200_000
RUN_DIR = "/opt/promotion"
CODE_DIR = f"{RUN_DIR}/code"  # root-owned, read-only to the notebooks
OUTBOX_DIR = f"{RUN_DIR}/outbox"
SCRATCH = "/tmp"  # also HOME and the working folder
SETTING = "promotion.run_limits"
ROOT = "0:0"
SHM_BYTES = 64 * 1024 * 1024
FULL_BYTES = 64 * 1024  # a tmpfs with less room left than this is full
GRACE_SECONDS = 300  # the main process ends by itself this long after the deadline
POLL_SECONDS = 0.5
ENOSPC = re.compile(r"No space left on device|\[Errno 28\]|ENOSPC")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str | int) -> int:
    """Bytes of a size as the settings write it: ``512M``, ``2g``, ``1048576``."""
    m = re.fullmatch(r"([0-9]+)([kmgtKMGT]?)", str(text).strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a size: write a number with K, M, G or T, e.g. 1G")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


# The run log a researcher reads is these events and nothing else: the runner emits them
# itself, from what it knows without reading a notebook's output (the snapshot's notebook
# paths, exit codes, counts, the run limits), so nothing a notebook prints or writes can
# reach it. Stewards read the events and, below them, everything the run printed.
EVENTS = {
    "started": "run started: {count} notebook(s) on {dataset}",
    "code": "code copied into the run ({count} files, read-only)",
    "notebook": "notebook {index} of {count} ({path}): running",
    "notebook-done": "notebook {index} of {count} ({path}): finished",
    "notebook-failed": (
        "notebook {index} of {count} ({path}): failed; its error may hold data, so it is "
        "in the full log, which a data steward can read"
    ),
    "outbox": "outbox copied out: {count} file(s)",
    "stopped": "stopped: {reason}",
    "not-started": (
        "the run could not start (a problem of the service, not of the notebook; a data "
        "steward can read why in the full log)"
    ),
    "engine": "the run broke off: the Docker engine failed (a data steward can read why)",
    "checked": "outputs checked: {passed} pass, {flagged} flagged, {blocked} blocked",
    "review": "awaiting review by a data steward",
}
FULL_LOG = "---- everything the run printed (data stewards only) ----"


class Live:
    """A run's log as it happens: the runner's own events (what a researcher reads) and
    the run's full output (data stewards only)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.events: list[str] = []
        self.parts: list[str] = []
        self.current: Output | None = None
        self.lock = threading.Lock()

    def event(self, kind: str, **values: object) -> None:
        """Record one of :data:`EVENTS`, with the time."""
        stamp = time.strftime("%H:%M:%S", time.gmtime(self.clock()))
        with self.lock:
            self.events.append(f"{stamp} {EVENTS[kind].format(**values)}")

    def write(self, text: str) -> None:
        with self.lock:
            self.parts.append(text)

    def follow(self, output: Output | None) -> None:
        """Show ``output`` (an exec's, as it comes) at the end of the full log; ``None``
        keeps what the one followed so far printed."""
        with self.lock:
            if self.current is not None:
                self.parts.append(self.current.text())
            self.current = output

    def researcher_log(self) -> str:
        with self.lock:
            return "\n".join(self.events)

    def full_log(self) -> str:
        with self.lock:
            text = "".join(self.parts) + (self.current.text() if self.current else "")
            events = "\n".join(self.events)
        if len(text) > MAX_LOG:
            text = "[... earlier lines cut ...]\n" + text[-MAX_LOG:]
        return f"{events}\n\n{FULL_LOG}\n{text}"


def limits_problem(memory: str, cpus: float, disk: str, output: str) -> str | None:
    """What makes a set of run limits unusable, naming the setting; None if they are fine."""
    sizes = {}
    for key, value in (("memory", memory), ("disk", disk), ("output", output)):
        try:
            sizes[key] = parse_size(value)
        except ValueError as e:
            return f"{SETTING}.{key}: {e}"
    if not cpus > 0:
        return f"{SETTING}.cpus must be above 0 (it is {cpus})"
    if sizes["memory"] < 6 * 1024 * 1024:
        return f"{SETTING}.memory must be at least 6M, Docker's least (it is {memory})"
    if sizes["disk"] >= sizes["memory"]:
        return (
            f"{SETTING}.disk ({disk}) must be below {SETTING}.memory ({memory}): the "
            "files a run writes are held in memory and count toward it"
        )
    return None


@dataclass
class RunSpec:
    name: str  # container name
    image_id: str
    binds: dict[str, str]  # host path -> mount path (read-only)
    notebooks: list[str]  # relative to the code folder
    data_root: str
    timeout_seconds: int  # promotion.run_limits.seconds
    mem_limit: str = "2G"  # promotion.run_limits.memory
    cpus: float = 1.0  # promotion.run_limits.cpus
    disk_limit: str = "1G"  # promotion.run_limits.disk
    output_limit: str = "100M"  # promotion.run_limits.output
    pids_limit: int = 512
    max_file_bytes: int = 20 * 1024 * 1024


@dataclass
class RunResult:
    outcome: str  # "succeeded", "failed" or "timed-out"
    exit_code: int | None
    log: str
    outputs: list[File] = field(default_factory=list)  # paths relative to the outbox
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why not copied)
    limit: str | None = None  # the run limit it exceeded: seconds, memory, disk or output
    reason: str = ""  # what happened, for the request's outcome (names the setting)
    events: str = ""  # the runner's own progress events: all a researcher reads of the log


def limit_message(spec: RunSpec, limit: str, where: str = "") -> str:
    """Why a run that exceeded ``limit`` failed, naming its setting and value."""
    if limit == "seconds":
        return (
            f"the run took longer than its time limit, {SETTING}.seconds = "
            f"{spec.timeout_seconds}, and was stopped; nothing of it is released"
        )
    if limit == "memory":
        return (
            f"the run needed more memory than its limit, {SETTING}.memory = {spec.mem_limit}, "
            "and was killed (files in its outbox and /tmp count toward it); nothing of it is "
            "released"
        )
    if limit == "disk":
        return (
            f"the run filled {where or 'its disk space'}: {SETTING}.disk = {spec.disk_limit} "
            "(for each of its outbox and /tmp); nothing of it is released"
        )
    if limit == "output":
        return (
            f"the outbox holds more than {SETTING}.output = {spec.output_limit}, the most "
            "that is copied out for checking; nothing of it is released"
        )
    raise ValueError(f"unknown run limit {limit!r}")


def tmpfs_mounts(spec: RunSpec, code: list[File]) -> dict[str, str]:
    """The run's only writable places, each a size-bounded tmpfs (and the code's, sized
    to the code)."""
    disk = parse_size(spec.disk_limit)
    inodes = max(4096, disk // 4096)
    code_dirs = {str(p) for f in code for p in PurePosixPath(f.path).parents}
    code_size = sum(len(f.data) for f in code) + 4096 * (len(code) + len(code_dirs) + 16)
    code_size = max(1024 * 1024, -(-code_size // 4096) * 4096)
    user = f"uid={NON_ROOT_USER.split(':')[0]},gid={NON_ROOT_USER.split(':')[1]}"
    return {
        CODE_DIR: f"rw,nosuid,nodev,noexec,size={code_size},mode=0755,uid=0,gid=0",
        OUTBOX_DIR: f"rw,nosuid,nodev,size={disk},nr_inodes={inodes},mode=0700,{user}",
        SCRATCH: f"rw,nosuid,nodev,size={disk},nr_inodes={inodes},mode=1777,{user}",
    }


def main_command(spec: RunSpec) -> list[str]:
    """The container's main process: a shell that waits (and reaps orphans) until well past
    the deadline. As pid 1 it survives the ``kill -9 -1`` that ends a run's leftovers."""
    seconds = spec.timeout_seconds + GRACE_SECONDS
    return ["sh", "-c", f"i=0; while [ $i -lt {seconds} ]; do sleep 1; i=$((i+1)); done"]


def container_config(spec: RunSpec, code: list[File]) -> dict:
    """The arguments of ``containers.create`` for a run (PolicyViolation, ValueError)."""
    host = hardened_host_config({}, spec.pids_limit)
    memory, disk = parse_size(spec.mem_limit), parse_size(spec.disk_limit)
    return dict(
        image=spec.image_id,
        command=main_command(spec),
        entrypoint=[],
        name=spec.name,
        user=NON_ROOT_USER,
        working_dir=SCRATCH,
        network_mode="none",
        environment={
            "HOME": SCRATCH,
            "TMPDIR": SCRATCH,
            "HDSS_DATA_ROOT": spec.data_root,
            "PYTHONUNBUFFERED": "1",
        },
        volumes={src: {"bind": dst, "mode": "ro"} for src, dst in spec.binds.items()},
        read_only=True,
        tmpfs=tmpfs_mounts(spec, code),
        shm_size=min(disk, SHM_BYTES),
        mem_limit=memory,
        memswap_limit=memory,
        nano_cpus=int(spec.cpus * 1e9),
        labels={"hdss.promotion": "run"},
        **host,
    )


class RunError(Exception):
    """A step of the run's machinery failed (not the notebook)."""


def code_archive(code: list[File]) -> bytes:
    """The snapshot as a tar: root-owned, files 0444 (folders are made read-only after)."""
    buf = BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs: set[str] = set()
        for f in code:
            rel = safe_relpath(f.path)
            parts = PurePosixPath(rel).parts
            for i in range(1, len(parts)):
                sub = "/".join(parts[:i])
                if sub not in dirs:
                    dirs.add(sub)
                    info = tarfile.TarInfo(sub)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(rel)
            info.size, info.mode = len(f.data), 0o444
            tar.addfile(info, BytesIO(f.data))
    return buf.getvalue()


def papermill_command(spec: RunSpec, notebook: str) -> list[str]:
    """The command of one notebook's exec: papermill with the restricted root and outbox
    as parameters, the notebook's own folder as the working folder."""
    src = f"{CODE_DIR}/{notebook}"
    out = f"{OUTBOX_DIR}/{notebook.replace('/', '__')}"
    cwd = f"{CODE_DIR}/{PurePosixPath(notebook).parent}".rstrip("/.")
    return [
        "/opt/venv/bin/python", "-m", "papermill", "--log-output", "--no-progress-bar",
        "--cwd", cwd, src, out,
        "-p", "data_root", spec.data_root,
        "-p", "output_dir", OUTBOX_DIR,
    ]  # fmt: skip


def _finished(api, exec_id: str, seconds: float = 30) -> int | None:
    """The exit code of an exec, once it has ended (None if it is still running)."""
    end = time.monotonic() + seconds
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return info["ExitCode"]
        if time.monotonic() >= end:
            return None
        time.sleep(0.1)


def _close(sock) -> None:
    """Close an exec's socket, and the connection under it (docker-py leaves that open)."""
    for part in (sock, getattr(sock, "_sock", None)):
        try:
            if part is not None:
                part.close()
        except OSError:
            pass


def copy_in(container, code: list[File]) -> None:
    """The snapshot into the code tmpfs, as a tar on the stdin of a root exec."""
    api = container.client.api
    script = f"tar -x -f - --no-same-owner -C {CODE_DIR} && chmod -R a-w {CODE_DIR}"
    exec_id = api.exec_create(
        container.id, ["sh", "-c", script], stdin=True, stdout=True, stderr=True, user=ROOT
    )["Id"]
    sock = api.exec_start(exec_id, socket=True)
    try:
        raw = getattr(sock, "_sock", sock)
        raw.sendall(code_archive(code))
        raw.shutdown(socket.SHUT_WR)
        out = b"".join(data for _stream, data in frames_iter(sock, tty=False))
    finally:
        _close(sock)
    if _finished(api, exec_id) != 0:
        raise RunError(f"the code could not be copied in: {out.decode(errors='replace')[-500:]}")


class Output(threading.Thread):
    """An exec's output, read from its socket as it comes; keeps the last ``2 * MAX_LOG``."""

    def __init__(self, sock) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.buf = bytearray()
        self.cut = False
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            for _stream, data in frames_iter(self.sock, tty=False):
                with self.lock:
                    self.buf += data
                    if len(self.buf) > 2 * MAX_LOG:
                        del self.buf[:-MAX_LOG]
                        self.cut = True
        except (OSError, ValueError):  # the connection ends when the container is killed
            pass

    def text(self) -> str:
        with self.lock:
            text, cut = self.buf.decode(errors="replace"), self.cut
        if cut or len(text) > MAX_LOG:
            text = "[... earlier lines cut ...]\n" + text[-MAX_LOG:]
        return text

    def close(self) -> None:
        self.join(timeout=5)
        _close(self.sock)


def run_notebooks(container, spec: RunSpec, live: Live) -> int | None:
    """Each notebook as its own exec, in order, until one fails: the exit code of the last
    (which the engine reports, so no notebook can fake it), or None when the deadline came.
    The exec being followed is left in ``live`` (closed by the caller)."""
    api = container.client.api
    deadline = time.monotonic() + spec.timeout_seconds
    count = len(spec.notebooks)
    for index, nb in enumerate(spec.notebooks, 1):
        live.event("notebook", index=index, count=count, path=nb)
        live.follow(None)
        live.write(f"== papermill {nb}\n")
        exec_id = api.exec_create(
            container.id,
            papermill_command(spec, nb),
            stdout=True,
            stderr=True,
            user=NON_ROOT_USER,
            workdir=SCRATCH,
        )["Id"]
        output = Output(api.exec_start(exec_id, socket=True))
        output.start()
        live.follow(output)
        exit_code = None
        while time.monotonic() < deadline:
            info = api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                exit_code = info["ExitCode"]
                break
            time.sleep(POLL_SECONDS)
        if exit_code is None:
            return None
        output.close()
        if exit_code != 0:
            live.event("notebook-failed", index=index, count=count, path=nb)
            return exit_code
        live.event("notebook-done", index=index, count=count, path=nb)
    return 0


def full_places(container) -> list[str]:
    """The run's writable places that are full (of bytes or of files)."""
    places = {OUTBOX_DIR: "its outbox", SCRATCH: "its scratch space /tmp"}
    full = []
    for flag, least in (("-k", FULL_BYTES // 1024), ("-i", 8)):
        res = container.exec_run(["df", "-P", flag, *places], user=NON_ROOT_USER)
        for line in res.output.decode(errors="replace").splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 6 and cols[-1] in places and cols[3].isdigit():
                if int(cols[3]) < least and places[cols[-1]] not in full:
                    full.append(places[cols[-1]])
    return full


def copy_out(container, spec: RunSpec, problems: list[tuple[str, str]]) -> list[File]:
    """The outbox, as a tar on an exec's stdout, read as a stream and refused (TooLarge)
    past ``promotion.run_limits.output``."""
    api = container.client.api
    exec_id = api.exec_create(
        container.id,
        ["tar", "-c", "-f", "-", "-C", RUN_DIR, PurePosixPath(OUTBOX_DIR).name],
        stdout=True,
        stderr=False,
        user=NON_ROOT_USER,
    )["Id"]
    sock = api.exec_start(exec_id, socket=True)
    try:
        stream = (data for _stream, data in frames_iter(sock, tty=False))
        return read_archive(
            stream,
            "",
            PurePosixPath(OUTBOX_DIR).name,
            spec.max_file_bytes,
            parse_size(spec.output_limit),
            problems,
        )
    except WorkspaceError:  # over the bound (TooLarge) or a broken archive
        # Read the rest and drop it: an engine left writing to a socket nobody reads hangs
        # (Docker 20.10). The outbox is a tmpfs of promotion.run_limits.disk, so the rest
        # is bounded, and so is what is read here.
        budget = parse_size(spec.disk_limit) + 16 * 1024 * 1024
        for _stream, data in frames_iter(sock, tty=False):
            budget -= len(data)
            if budget < 0:
                break
        raise
    finally:
        _close(sock)


def _stop(container) -> bool:
    """Kill the container and tell whether the kernel's OOM killer struck during the run."""
    try:
        container.kill()
    except docker.errors.APIError:  # it had already ended
        pass
    try:
        container.wait(timeout=30)
    except Exception:  # noqa: BLE001 - the state is read below either way
        pass
    container.reload()
    return bool(container.attrs.get("State", {}).get("OOMKilled"))


def run(
    client: docker.DockerClient,
    spec: RunSpec,
    code: list[File],
    live: Live | None = None,
) -> RunResult:
    """Run the notebooks of ``code`` and collect the outbox; the container is always removed.

    The code is copied into the container's own tmpfs (root-owned, read-only to the
    notebooks), not read from the project workspace, so what runs is exactly the hashed
    snapshot; the outbox also lives there, so nothing but the notebooks can put a file
    into it. A configuration the container policy refuses fails the run (nothing is
    started). A run over one of its limits fails naming it, with no outputs. ``live``
    follows the run as it happens (events for the researcher, output for stewards).
    """
    live = live or Live()
    try:
        config = container_config(spec, code)
    except (PolicyViolation, ValueError) as e:
        live.event("not-started")
        live.write(f"== the run could not start: {e}\n")
        return _result(RunResult("failed", None, ""), live)
    container = client.containers.create(**config)
    try:
        container.start()
        copy_in(container, code)
        live.event("code", count=len(code))
        exit_code = run_notebooks(container, spec, live)
        result = RunResult("succeeded" if exit_code == 0 else "failed", exit_code, "")
        limit, where = ("seconds", "") if exit_code is None else (None, "")
        if limit is None:
            try:
                limit, where = _collect(container, spec, live, result)
            except docker.errors.APIError as e:  # the container ended under the run
                result.outcome, result.outputs = "failed", []
                result.problems = [("(outbox)", f"not read: {e.explanation or e}")]
        if _stop(container) and limit != "seconds":
            limit, where = "memory", ""
        if live.current is not None:
            live.current.close()
        live.follow(None)
        if limit is not None:
            result.limit, result.reason = limit, limit_message(spec, limit, where)
            result.outcome = "timed-out" if limit == "seconds" else "failed"
            result.outputs, result.problems = [], []
            live.write(f"\n== stopped: {result.reason}\n")
            live.event("stopped", reason=result.reason)
        elif result.outcome == "succeeded":
            live.event("outbox", count=len(result.outputs))
        return _result(result, live)
    finally:
        container.remove(force=True)


def _result(result: RunResult, live: Live) -> RunResult:
    """``result`` with the logs of ``live``."""
    result.log, result.events = live.full_log(), live.researcher_log()
    return result


def _collect(container, spec: RunSpec, live: Live, result: RunResult) -> tuple[str | None, str]:
    """After the notebooks ended: the disk limit they hit, or else the outbox into
    ``result``; (limit exceeded or None, where)."""
    # Leftovers of the notebooks (daemons) end before anything is looked at.
    container.exec_run(["sh", "-c", "kill -9 -1"], user=NON_ROOT_USER)
    if live.current is not None:
        live.current.close()
    full = full_places(container)
    if full or (result.exit_code != 0 and ENOSPC.search(live.full_log())):
        return "disk", " and ".join(full)
    try:
        result.outputs = copy_out(container, spec, result.problems)
    except TooLarge:
        return "output", ""
    except WorkspaceError as e:
        result.problems.append(("(outbox)", str(e)))
    return None, ""
