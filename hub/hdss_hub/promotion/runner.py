"""Run promoted notebooks with papermill in a container under the secure profile's policy.

The container: the image recorded at the snapshot (by id, so an image rebuilt since cannot
slip in), the snapshot copied into its own file system, the permitted restricted dataset
read-only at /data/restricted/<name> (and no other mount), no network at all (stricter than the secure
servers' internal network: a batch run needs no hub), uid 1000, every capability dropped,
no-new-privileges, a pids limit, CPU and memory limits, and a wall-clock limit after which
it is killed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import docker
from hdss_common.containers import NON_ROOT_USER, hardened_host_config
from hdss_common.errors import PolicyViolation
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from .workspace import ROOT_UID, USER_GID, USER_UID, File, WorkspaceError, read_tree, write_tree

log = logging.getLogger(__name__)
MAX_LOG = 200_000
RUN_BASE = "/opt"  # the run container's own file system (not a volume)
CODE_DIR = f"{RUN_BASE}/promotion/code"
OUTBOX_DIR = f"{RUN_BASE}/promotion/outbox"
SCRATCH = "/tmp"


PROGRESS_LINES = re.compile(
    r"^(== .*|Input Notebook:.*|Output Notebook:.*|Executing notebook with kernel.*|"
    r"(Executing|Ending) Cell \d+|Exception encountered at \"In \[\d+\]\":)"
)
ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit))\b")


def progress_only(text: str) -> str:
    """The run log as a researcher may read it outside the secure environment.

    Cell outputs and error messages can hold restricted data, so only papermill's progress
    lines and the *type* of an error are kept; data stewards read the full log.
    """
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\S+ \S+ \[papermill\] INFO ", "", line.strip())
        line = line.rstrip("-").strip()
        if PROGRESS_LINES.match(line):
            out.append(line)
        elif (m := ERROR_LINE.match(line)) and "Traceback" not in line:
            out.append(
                f"{m.group(1)} (message withheld: it may hold data; a data steward "
                "can read the full log)"
            )
    return "\n".join(dict.fromkeys(out) if len(out) > 2000 else out)


@dataclass
class RunSpec:
    name: str  # container name
    image_id: str
    binds: dict[str, str]  # host path -> mount path (read-only)
    notebooks: list[str]  # relative to the code folder
    data_root: str
    timeout_seconds: int
    mem_limit: str = "2g"
    cpus: float = 1.0
    pids_limit: int = 512
    max_file_bytes: int = 20 * 1024 * 1024
    max_output_bytes: int = 100 * 1024 * 1024


@dataclass
class RunResult:
    outcome: str  # "succeeded", "failed" or "timed-out"
    exit_code: int | None
    log: str
    outputs: list[File] = field(default_factory=list)  # paths relative to the outbox
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why not copied)


def papermill_script(spec: RunSpec) -> str:
    """The shell script the container runs: each notebook in turn, stop at the first failure."""
    lines = ["set -e"]
    for nb in spec.notebooks:
        src = f"{CODE_DIR}/{nb}"
        out = f"{OUTBOX_DIR}/{nb.replace('/', '__')}"
        cwd = f"{CODE_DIR}/{PurePosixPath(nb).parent}".rstrip("/.")
        lines.append(f"echo '== papermill {nb}'")
        lines.append(
            "/opt/venv/bin/python -m papermill --log-output --no-progress-bar "
            f"--cwd '{cwd}' '{src}' '{out}' -p data_root '{spec.data_root}' "
            f"-p output_dir '{OUTBOX_DIR}'"
        )
    return "\n".join(lines)


def run(
    client: docker.DockerClient,
    spec: RunSpec,
    code: list[File],
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the notebooks of ``code`` and collect the outbox; the container is always removed.

    The code is copied into the container's own file system (root-owned, read-only), not
    read from the project workspace, so what runs is exactly the hashed snapshot; the
    outbox also lives there, so nothing but the notebooks can put a file into it.
    A configuration the container policy refuses fails the run (nothing is started).
    """
    try:
        host = hardened_host_config({}, spec.pids_limit)
    except PolicyViolation as e:
        return RunResult("failed", None, f"== the run could not start: {e}")
    container = client.containers.create(
        spec.image_id,
        ["sh", "-c", papermill_script(spec)],
        entrypoint=[],
        name=spec.name,
        user=NON_ROOT_USER,
        working_dir=SCRATCH,
        network_mode="none",
        environment={"HOME": SCRATCH, "HDSS_DATA_ROOT": spec.data_root, "PYTHONUNBUFFERED": "1"},
        volumes={src: {"bind": dst, "mode": "ro"} for src, dst in spec.binds.items()},
        mem_limit=spec.mem_limit,
        nano_cpus=int(spec.cpus * 1e9),
        labels={"hdss.promotion": "run"},
        **host,
    )
    try:
        write_tree(
            container,
            "promotion/code",
            code,
            uid=ROOT_UID,
            gid=ROOT_UID,
            file_mode=0o444,
            dir_mode=0o555,
            base=RUN_BASE,
        )
        write_tree(
            container,
            "promotion/outbox",
            [],
            uid=USER_UID,
            gid=USER_GID,
            file_mode=0o600,
            dir_mode=0o700,
            base=RUN_BASE,
        )
        container.start()
        deadline = time.monotonic() + spec.timeout_seconds
        outcome, code_ = "timed-out", None
        while time.monotonic() < deadline:
            try:
                status = container.wait(timeout=min(5, max(1, deadline - time.monotonic())))
                code_ = status.get("StatusCode")
                outcome = "succeeded" if code_ == 0 else "failed"
                break
            except (ReadTimeout, RequestsConnectionError):
                if progress:
                    progress(container.logs(tail=200).decode(errors="replace")[-MAX_LOG:])
        if outcome == "timed-out":
            container.kill()
        text = container.logs().decode(errors="replace")
        if len(text) > MAX_LOG:
            text = "[... earlier lines cut ...]\n" + text[-MAX_LOG:]
        if outcome == "timed-out":
            text += f"\n== stopped: the run exceeded its time limit of {spec.timeout_seconds} s"
        result = RunResult(outcome, code_, text)
        try:
            files = read_tree(
                container,
                "promotion/outbox",
                spec.max_file_bytes,
                spec.max_output_bytes,
                result.problems,
                base=RUN_BASE,
            )
        except WorkspaceError as e:
            files = []
            result.problems.append(("(outbox)", str(e)))
        prefix = "promotion/outbox/"
        result.outputs = [File(f.path.removeprefix(prefix), f.data) for f in files]
        result.problems = [
            (p.removeprefix(prefix), why.replace(prefix, "")) for p, why in result.problems
        ]
        return result
    finally:
        container.remove(force=True)
