"""Generate a dataset: simulate chunks of persons (in worker processes), stream them to
Parquet, write the manifest and publish the version atomically."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.pool import ThreadPool
from pathlib import Path

import numpy as np
from hdss_common.catalog import MANIFEST, Sensitivity

from hdss_registers import manifest as M
from hdss_registers import publish
from hdss_registers.simulate import simulate
from hdss_registers.tables import ChunkTables, lookup_tables
from hdss_registers.writer import TableWriter, split

log = logging.getLogger(__name__)

SIZES = {"tiny": 1_000, "small": 100_000, "full": 5_000_000}
CHUNK = 20_000  # fixed: part of the output's definition (row groups), not a tuning knob
BYTES_PER_PERSON = 4_000  # measured ~3.2 kB per person on disk (with sssy), with a margin
DEFAULT_NAME = "dk-registers"


@dataclass(frozen=True)
class Request:
    size: str
    seed: int
    out: Path
    name: str = DEFAULT_NAME
    sensitivity: Sensitivity = Sensitivity.SYNTHETIC
    persons: int | None = None
    jobs: int | None = None

    def validate(self) -> None:
        if self.size not in SIZES:
            raise publish.PublishError(
                f"unknown size {self.size!r}: choose one of {', '.join(SIZES)}"
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise publish.PublishError(f"seed must be a non-negative integer, got {self.seed}")
        if self.persons is not None and self.persons < 1:
            raise publish.PublishError(f"--persons must be at least 1, got {self.persons}")

    @property
    def n(self) -> int:
        return self.persons or SIZES[self.size]


def id_key(seed: int, sensitivity: Sensitivity) -> tuple[int, bytes]:
    """The keyed scramble of person ids, and their prefix letter."""
    salt = 1 if sensitivity is Sensitivity.RESTRICTED else 0
    key = int(np.random.SeedSequence([seed, 0xC0FFEE, salt]).generate_state(1, np.uint64)[0])
    return key, (b"R" if salt else b"S")


def chunk_job(args: tuple) -> tuple[int, dict]:
    seed, k, n, first_id, key, prefix = args
    rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
    ch = simulate(rng, n, first_id)
    return n, split(ChunkTables(ch, rng, key, prefix).build())


def _jobs(req: Request, chunks: int) -> int:
    if req.jobs:
        return max(1, req.jobs)
    return max(1, min(len(os.sched_getaffinity(0)), chunks, 4))


def _chunks(req: Request):
    key, prefix = id_key(req.seed, req.sensitivity)
    n, k = req.n, 0
    while k * CHUNK < n:
        yield (req.seed, k, min(CHUNK, n - k * CHUNK), k * CHUNK, key, prefix)
        k += 1


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)


def steady_heap(threshold: int = 1 << 20) -> bool:
    """Serve allocations of ``threshold`` bytes and more by mmap, returned on free.

    glibc raises its mmap threshold each time a large block is freed, so after the first
    chunk a chunk's column arrays come from the heap, whose freed holes the next chunk
    cannot always reuse: the peak grew with the number of chunks. A fixed threshold
    (setting it turns the raising off) keeps the peak flat; measured in datasets/README.md.
    Process-wide, so the command calls it, not the library. False off glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1)
    except (OSError, AttributeError):
        return False


def _results(req: Request):
    """Chunk results in chunk order, so memory stays bounded: ``jobs`` chunks are simulated
    while the one before them is written, never more.

    Every chunk has its own seed, so the bytes do not depend on ``jobs``."""
    tasks = list(_chunks(req))
    jobs = _jobs(req, len(tasks))
    if jobs == 1:
        for t in tasks:
            yield chunk_job(t)
        return
    # Threads, not processes: NumPy's large operations and all of Arrow/Parquet release the
    # GIL, and nothing has to be pickled between processes (measured: ~25% less CPU).
    with ThreadPool(jobs) as pool:
        pending = []
        it = iter(tasks)
        for t in it:
            pending.append(pool.apply_async(chunk_job, (t,)))
            if len(pending) >= jobs:
                break
        while pending:
            yield pending.pop(0).get()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.apply_async(chunk_job, (nxt,)))


def write_version(req: Request, tmp: Path, progress=None) -> tuple[str, dict]:
    """Write all tables and the manifest into ``tmp``; return (version, manifest)."""
    w = TableWriter(tmp)
    w.write(split(lookup_tables()))
    done, t0 = 0, time.perf_counter()
    chunks = -(-req.n // CHUNK)
    for i, (n, built) in enumerate(_results(req)):
        w.write(built)
        done += n
        if progress:
            progress(i + 1, chunks, done, req.n, w.total_rows, time.perf_counter() - t0)
    w.ensure_all()
    rows = w.close()
    prov = M.provenance(req.sensitivity.value, req.seed, req.size, req.n, CHUNK)
    files = M.file_entries(tmp, rows)
    digest = M.content_hash(files, prov)
    version = f"{M.__version__}-{req.size}-s{req.seed}-{digest[:12]}"
    prov["content_sha256"] = digest
    manifest = M.build_manifest(req.name, version, prov, files)
    (tmp / MANIFEST).write_text(M.dumps(manifest))
    return version, manifest


def stderr_progress(i, chunks, done, total, rows, secs) -> None:
    rate = done / secs if secs > 0 else 0.0
    print(
        f"hdss-dataset: chunk {i}/{chunks}: {done:,}/{total:,} persons, {rows:,} rows, "
        f"{rate:,.0f} persons/s",
        file=sys.stderr,
        flush=True,
    )


def _sigterm(signum, frame):  # turn SIGTERM into an exception so the temp dir is removed
    raise SystemExit(128 + signum)


def generate(req: Request, progress=stderr_progress) -> Path:
    """Generate and publish one version; return its directory. Nothing is published on error."""
    req.validate()
    root = publish.prepare_root(Path(req.out), req.sensitivity)
    directory = publish.dataset_dir(root, req.name)
    old = signal.signal(signal.SIGTERM, _sigterm)
    try:
        with publish.locked(directory):
            publish.clean_stale(directory)
            publish.check_space(directory, req.n * BYTES_PER_PERSON + 50_000_000)
            tmp = publish.new_temp(directory)
            try:
                version, _ = write_version(req, tmp, progress)
                return publish.install(tmp, directory, version)
            except BaseException as exc:
                publish.remove_tree(tmp)
                if publish.is_enospc(exc):
                    raise publish.PublishError(
                        f"ran out of disk space writing under {directory}; nothing was "
                        f"published. Free some space or choose another --out"
                    ) from exc
                raise
    finally:
        signal.signal(signal.SIGTERM, old)
