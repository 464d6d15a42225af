"""Publication: determinism, atomicity under SIGKILL, verify, bad input, restricted twin."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hdss_common.catalog import Sensitivity, load_catalog, scan
from hdss_harness.wait import wait_until
from hdss_registers import generate as G
from hdss_registers import publish
from hdss_registers.cli import main
from hdss_registers.verify import verify
from hdss_registers.writer import TableWriter

from .conftest import connect, make, manifest, one

CLI = [sys.executable, "-m", "hdss_registers.cli"]
SCRIPT = Path(sys.executable).parent / "hdss-dataset"  # the console script `make dataset` runs


def shas(version: Path) -> dict[str, str]:
    return {f["path"]: f["sha256"] for r in manifest(version)["resources"] for f in r["files"]}


def test_same_seed_same_bytes(tiny, tmp_path):
    again = make(tmp_path / "again", jobs=2)
    assert again.name == tiny.name
    assert shas(again) == shas(tiny)
    assert (again / "datapackage.json").read_bytes() == (tiny / "datapackage.json").read_bytes()


def test_other_seed_other_data(tiny, tmp_path):
    other = make(tmp_path / "other", seed=8)
    assert other.name != tiny.name
    assert shas(other)["t_person/t_person.parquet"] != shas(tiny)["t_person/t_person.parquet"]


def test_republishing_same_version_is_idempotent(tmp_path):
    first = make(tmp_path)
    second = make(tmp_path)
    assert first == second
    assert (tmp_path / "dk-registers" / "current").resolve() == first


def _writable_copy(version: Path, dest: Path) -> Path:
    shutil.copytree(version, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def test_verify_catches_a_changed_byte(tiny, tmp_path):
    copy = _writable_copy(tiny, tmp_path / "copy")
    target = copy / "lmdb" / sorted(os.listdir(copy / "lmdb"))[3]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    _, problems, _ = verify(copy)
    assert len(problems) == 1 and target.relative_to(copy).as_posix() in problems[0]
    assert main(["verify", str(copy)]) == 1


def test_verify_catches_a_broken_foreign_key(tiny, tmp_path):
    """Rewrite lpr_diag with one dangling recnum and a matching manifest: keys must fail."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from hdss_registers.writer import sha256_file

    copy = _writable_copy(tiny, tmp_path / "copy")
    path = copy / "lpr_diag" / sorted(os.listdir(copy / "lpr_diag"))[0]
    t = pq.read_table(path)
    recnum = t.column("recnum").to_pylist()
    recnum[0] = "999999999999999"
    pq.write_table(t.set_column(0, "recnum", pa.array(recnum)), path)
    m = json.loads((copy / "datapackage.json").read_text())
    rel = path.relative_to(copy).as_posix()
    for r in m["resources"]:
        for f in r["files"]:
            if f["path"] == rel:
                f["sha256"], f["bytes"] = sha256_file(path), path.stat().st_size
    (copy / "datapackage.json").write_text(json.dumps(m))
    _, problems, _ = verify(copy)
    assert any("lpr_diag: foreign key (recnum) -> lpr_adm" in p for p in problems), problems


def test_sigkill_mid_run_leaves_old_version_current(tmp_path):
    old = make(tmp_path)
    proc = subprocess.Popen(
        [
            *CLI,
            "generate",
            "--size",
            "small",
            "--persons",
            "400000",
            "--seed",
            "9",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    dataset = tmp_path / "dk-registers"

    def writing_parquet() -> bool:
        tmps = [p for p in dataset.iterdir() if p.name.startswith(publish.TMP_PREFIX)]
        if tmps and any(tmps[0].rglob("*_2010.parquet")):
            return True
        assert proc.poll() is None, proc.stderr.read().decode()
        return False

    try:
        wait_until(writing_parquet, 120, 0.05, "generate never started writing")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert (dataset / "current").resolve() == old
    visible = [p.name for p in dataset.iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == sorted([old.name, "current"])
    assert [e.version for e in scan(tmp_path, Sensitivity.SYNTHETIC)] == [old.name]
    assert verify(old)[1] == []
    # the next run removes the dead run's temp dir and publishes normally
    new = make(tmp_path, seed=10)
    assert not [p for p in dataset.iterdir() if p.name.startswith(publish.TMP_PREFIX)]
    assert (dataset / "current").resolve() == new


def _nothing_published(root: Path) -> bool:
    d = root / "dk-registers"
    return not d.exists() or [p.name for p in d.iterdir() if p.name != publish.LOCK] == []


def test_unknown_size_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--size", "huge", "--seed", "1", "--out", str(tmp_path / "r")])
    assert exc.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_negative_seed_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--size", "tiny", "--seed", "-3", "--out", str(tmp_path / "r")])
    assert "seed must be 0 or more" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_output_dir_not_ours_is_refused(tmp_path, capsys):
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert main(["generate", "--size", "tiny", "--seed", "1", "--out", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "is not a dataset root made by hdss-dataset" in err
    assert sorted(os.listdir(foreign)) == ["thesis.tex"]


def test_restricted_into_synthetic_root_is_refused(tiny, capsys):
    root = tiny.parent.parent
    rc = main(
        [
            "generate",
            "--size",
            "tiny",
            "--seed",
            "3",
            "--out",
            str(root),
            "--sensitivity",
            "restricted",
        ]
    )
    assert rc == 2 and "is a synthetic dataset root" in capsys.readouterr().err


def test_no_disk_space_before_start(tmp_path, monkeypatch, capsys):
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1_000_000))
    assert main(["generate", "--size", "tiny", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert "not enough disk space" in capsys.readouterr().err
    assert _nothing_published(tmp_path)


def test_disk_full_while_writing(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = TableWriter._write

    def flaky(self, rel, data):
        calls["n"] += 1
        if calls["n"] == 40:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, rel, data)

    monkeypatch.setattr(TableWriter, "_write", flaky)
    assert main(["generate", "--size", "tiny", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert "ran out of disk space" in capsys.readouterr().err
    assert _nothing_published(tmp_path)


def test_restricted_twin_same_schema_other_people(tiny, tmp_path):
    twin = make(tmp_path / "restricted", seed=99, sensitivity=Sensitivity.RESTRICTED)
    m = manifest(twin)
    assert m["provenance"]["restricted"] is True
    schema = {r["name"]: r["schema"] for r in m["resources"]}
    assert schema == {r["name"]: r["schema"] for r in manifest(tiny)["resources"]}
    a = {r[0] for r in connect(tiny).execute("SELECT pnr FROM t_person").fetchall()}
    b = {r[0] for r in connect(twin).execute("SELECT pnr FROM t_person").fetchall()}
    assert not a & b
    cat = load_catalog(tiny.parent.parent, tmp_path / "restricted")
    assert [(e.sensitivity, e.mount_path) for e in cat] == [
        (Sensitivity.SYNTHETIC, "/data/synthetic/dk-registers"),
        (Sensitivity.RESTRICTED, "/data/restricted/dk-registers"),
    ]


def test_cli_generate_prints_path_last_and_progress(tmp_path):
    assert SCRIPT.is_file(), "pip install -e . declares the hdss-dataset console script"
    out = subprocess.run(
        [str(SCRIPT), "generate", "--size", "tiny", "--seed", "7", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.parent == tmp_path / "dk-registers" and (path / "datapackage.json").is_file()
    assert "persons/s" in out.stderr
    listing = subprocess.run(
        [*CLI, "list", str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    assert path.name in listing and "/data/synthetic/dk-registers" in listing
    dictionary = subprocess.run(
        [*CLI, "dictionary", str(path.parent)], capture_output=True, text=True, check=True
    ).stdout
    assert "## lpr_a_diagnose" in dictionary and "`diagnosetype`" in dictionary
    verify_out = subprocess.run([*CLI, "verify", str(path)], capture_output=True, text=True)
    assert verify_out.returncode == 0 and verify_out.stdout.startswith("OK")


def test_dead_temp_dirs_are_ignored_by_the_catalogue(tiny, tmp_path):
    root = tmp_path / "root"
    v = make(root)
    half = root / "dk-registers" / ".tmp-123-dead"
    (half / "bef").mkdir(parents=True)
    (half / "datapackage.json").write_text("{}")
    (root / "dk-registers" / "current").unlink()  # even without a current link
    assert [e.version for e in scan(root, Sensitivity.SYNTHETIC)] == [v.name]
    assert one(connect(v), "SELECT count(*) FROM t_person") == 1000


def test_chunks_in_memory_are_bounded_by_jobs(tmp_path, monkeypatch):
    """``jobs`` chunks at most are alive at once (simulated or being written), so peak
    memory does not grow with the size; a chunk is dead once the writer moves on."""
    live: set[int] = set()
    peak = 0
    lock = threading.Lock()

    def chunk_job(task):
        nonlocal peak
        with lock:
            live.add(task[1])
            peak = max(peak, len(live))
        return task[1]

    monkeypatch.setattr(G, "chunk_job", chunk_job)
    req = G.Request(size="tiny", seed=1, out=tmp_path, persons=12 * G.CHUNK, jobs=3)
    written = []
    for k in G._results(req):
        written.append(k)  # the writer holds chunk k here, then lets it go
        with lock:
            live.discard(k)
    assert written == list(range(12))
    assert 2 <= peak <= 3, peak


def test_steady_heap_sets_a_fixed_mmap_threshold():
    """On glibc (Debian) mallopt takes the threshold; run in a child so this process's
    allocator is left as it is."""
    code = "from hdss_registers.generate import steady_heap; print(steady_heap())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stderr
