"""The audit chain's anchor: checkpoints outside the database, checked by a plain verify.

Each attack on the database (cut off the newest entries, rewrite one and re-hash the chain
after it, forge a checkpoint, delete the anchor log or key) is an ``abuse`` test that fails
if the attack goes unnoticed; beside them, the untouched chain verifies (also after
concurrent appends from threads and from processes), and so does the installed
``hdss-audit verify`` that finds the anchor from the environment or the settings alone.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import sqlalchemy as sa
import yaml
from hdss_hub.audit import AnchorLog, AuditLog
from hdss_hub.audit.anchor import ANCHOR_KEY_ENV, ANCHOR_LOG_ENV
from hdss_hub.audit.log import GENESIS_HASH, entry_hash
from traitlets.config import Config

from tests.conftest import PROJECT_DIR, VENV_BIN

from .helpers import append_from_threads, fill

abuse = pytest.mark.abuse


@pytest.fixture
def anchor(tmp_path) -> AnchorLog:
    return AnchorLog.in_state_dir(tmp_path / "state")


@pytest.fixture
def audit(db_url, clock, anchor):
    log = AuditLog(db_url, clock=clock, anchor=anchor)
    yield log
    log.engine.dispose()


def rewrite_from(audit, seq, **change):
    """What someone with write access to the database can do: change entry ``seq`` and
    recompute its hash and every hash after it, so that the chain alone is valid again."""
    with audit.engine.begin() as c:
        rows = c.execute(
            sa.text("SELECT * FROM audit_entries WHERE seq >= :s ORDER BY seq"), {"s": seq}
        ).all()
        prev = c.execute(
            sa.text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": seq - 1}
        ).scalar()
        prev = prev or GENESIS_HASH
        for i, row in enumerate(rows):
            values = dict(row._mapping)
            if i == 0:
                values.update(change)
            details = json.loads(values["details"])
            digest = entry_hash(
                values["seq"],
                values["ts"],
                values["actor"],
                values["action"],
                values["target"],
                values["outcome"],
                details,
                prev,
            )
            c.execute(
                sa.text(
                    "UPDATE audit_entries SET actor = :actor, action = :action, "
                    "target = :target, outcome = :outcome, prev_hash = :prev, hash = :hash "
                    "WHERE seq = :seq"
                ),
                {**values, "prev": prev, "hash": digest},
            )
            prev = digest


def delete_from(audit, seq):
    with audit.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": seq})


# -- positive controls ------------------------------------------------------------------


def test_every_append_is_anchored_and_verifies(audit, clock, anchor):
    fill(audit, clock)
    result = audit.verify()
    assert result.ok, result.message()
    assert result.checkpoints == 5 and result.newest_checkpoint.seq == 5
    assert "5 checkpoints" in result.message() and str(anchor.log_path) in result.message()
    lines = anchor.log_path.read_text().splitlines()
    assert [int(line.split()[1]) for line in lines] == [1, 2, 3, 4, 5]
    assert lines[-1].split()[2] == audit.head().hash
    # The key is a secret file; the log holds only numbers and hashes.
    assert stat.S_IMODE(anchor.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(anchor.key_path.parent.stat().st_mode) == 0o700
    assert anchor.key_path.read_text().strip() not in anchor.log_path.read_text()


def test_an_empty_chain_without_anchor_files_verifies(audit, anchor):
    assert not anchor.log_path.exists() and not anchor.key_path.exists()
    assert audit.verify().ok


def test_concurrent_appends_from_threads_are_all_anchored(audit, anchor):
    threads, per_thread = 6, 10
    assert append_from_threads(audit, threads, per_thread) == []
    result = audit.verify()
    assert result.ok, result.message()
    seqs = sorted(int(line.split()[1]) for line in anchor.log_path.read_text().splitlines())
    assert seqs == list(range(1, threads * per_thread + 1))


APPENDER = """
import sys
from hdss_hub.audit import AnchorLog, AuditLog
db, log, key, name, n = sys.argv[1:]
audit = AuditLog(db, anchor=AnchorLog(log, key))
for i in range(int(n)):
    audit.append(name, "test.append", f"item:{name}:{i}", "ok")
"""


def test_concurrent_appends_from_two_processes_share_one_key(db_url, anchor, clock):
    AuditLog(db_url).engine.dispose()  # schema first, so the two do not race to migrate
    assert not anchor.key_path.exists()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                APPENDER,
                db_url,
                str(anchor.log_path),
                str(anchor.key_path),
                name,
                "15",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("hub", "ledger")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    audit = AuditLog(db_url, anchor=AnchorLog(anchor.log_path, anchor.key_path), migrate=False)
    result = audit.verify()
    assert result.ok and result.checked == 30 and result.checkpoints == 30, result.message()
    audit.engine.dispose()


def test_a_chain_from_before_anchoring_is_covered_by_the_first_checkpoint(db_url, clock, anchor):
    old = AuditLog(db_url, clock=clock)  # a deployment before anchoring existed
    fill(old, clock, 3)
    audit = AuditLog(db_url, clock=clock, anchor=anchor, migrate=False)
    assert not audit.verify().ok  # entries, but no anchor log: not a pass
    audit.checkpoint()  # what the ledger service does at start
    assert audit.verify().ok
    delete_from(audit, 3)
    assert "entries after seq 2 were removed" in audit.verify().reason
    old.engine.dispose()
    audit.engine.dispose()


def test_unanchored_verify_says_what_it_cannot_see(db_url, clock):
    audit = AuditLog(db_url, clock=clock)
    fill(audit, clock, 2)
    result = audit.verify()
    assert result.ok and "not anchored" in result.message()
    audit.engine.dispose()


def test_a_failed_checkpoint_write_does_not_fail_the_append(audit, clock, anchor, caplog):
    fill(audit, clock, 1)
    aside = anchor.log_path.with_name("aside")
    anchor.log_path.rename(aside)
    anchor.log_path.mkdir()  # unwritable as a file, even for root
    fill(audit, clock, 1, start=1)  # stored all the same
    anchor.log_path.rmdir()
    aside.rename(anchor.log_path)
    assert "stored but not anchored" in caplog.text
    result = audit.verify()
    assert result.ok and "entries 2-2 not anchored yet" in result.message()


# -- attacks on the database ------------------------------------------------------------


@abuse
def test_deleted_newest_entries_are_caught(audit, clock):
    fill(audit, clock)
    delete_from(audit, 4)
    result = audit.verify()
    assert not result.ok and result.broken_seq == 4
    assert "entries after seq 3 were removed" in result.message()
    assert "records entry 5" in result.reason


@abuse
def test_deleting_every_entry_is_caught(audit, clock):
    fill(audit, clock, 2)
    delete_from(audit, 1)
    result = audit.verify()
    assert not result.ok and "entries after seq 0 were removed" in result.reason


@abuse
def test_rewritten_and_rehashed_chain_is_caught(audit, clock):
    fill(audit, clock)
    rewrite_from(audit, 3, outcome="denied")
    assert AuditLog(audit.engine, migrate=False).verify().ok  # the chain alone is valid again...
    result = audit.verify()  # ...but not against its checkpoints
    assert not result.ok and result.broken_seq == 3
    assert "entry 3 was rewritten (hash differs from checkpoint of 20" in result.message()


@abuse
def test_rewrite_then_new_appends_are_still_caught(audit, clock):
    """The hub keeps appending (and anchoring) on top of the rewritten chain."""
    fill(audit, clock)
    rewrite_from(audit, 2, actor="mallory")
    fill(audit, clock, 2, start=5)
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2 and "rewritten" in result.reason


@abuse
def test_truncated_and_regrown_chain_is_caught(audit, clock):
    """Cut off entries 4-5, then append others in their place (a valid chain again)."""
    fill(audit, clock)
    delete_from(audit, 4)
    plain = AuditLog(audit.engine, clock=clock, migrate=False)  # no anchoring: the attacker
    fill(plain, clock, 2, start=100)
    assert plain.verify().ok
    result = audit.verify()
    assert not result.ok and result.broken_seq == 4 and "entry 4 was rewritten" in result.reason


@abuse
def test_forged_checkpoint_line_is_caught(audit, clock, anchor, tmp_path):
    fill(audit, clock, 3)
    forger = AnchorLog(anchor.log_path, tmp_path / "not-the-key")  # another key, same log
    forger.write(3, audit.head().hash)
    result = audit.verify()
    assert not result.ok and result.broken_seq is None
    assert "checkpoint line 4" in result.reason and "bad signature" in result.reason
    assert "audit log not verified" in result.message()


@abuse
def test_edited_checkpoint_line_is_caught(audit, clock, anchor):
    """Change a checkpoint to match a rewritten entry, keeping the old signature."""
    fill(audit, clock, 3)
    rewrite_from(audit, 3, actor="mallory")
    lines = anchor.log_path.read_text().splitlines()
    parts = lines[2].split()
    parts[2] = audit.head().hash
    lines[2] = " ".join(parts)
    anchor.log_path.write_text("\n".join(lines) + "\n")
    result = audit.verify()
    assert not result.ok and "checkpoint line 3" in result.reason and "signature" in result.reason


@abuse
def test_garbage_in_the_anchor_log_is_caught(audit, clock, anchor):
    fill(audit, clock, 2)
    with open(anchor.log_path, "a") as f:
        f.write("hdss-anchor-1 99 zz\n")
    result = audit.verify()
    assert not result.ok and "checkpoint line 3" in result.reason and "malformed" in result.reason


@abuse
def test_deleted_anchor_log_is_caught(audit, clock, anchor):
    fill(audit, clock, 3)
    anchor.log_path.unlink()
    delete_from(audit, 3)
    result = audit.verify()
    assert not result.ok and "anchor log" in result.reason and "missing" in result.reason
    assert "2 entries" in result.reason


@abuse
def test_deleted_anchor_key_is_caught(audit, clock, anchor):
    fill(audit, clock, 2)
    anchor.key_path.unlink()
    fresh = AuditLog(
        audit.engine, anchor=AnchorLog(anchor.log_path, anchor.key_path), migrate=False
    )
    result = fresh.verify()
    assert not result.ok and "anchor key" in result.reason and "missing" in result.reason


@abuse
def test_replaced_anchor_key_is_caught(audit, clock, anchor):
    """A new key (say, the old one deleted and regenerated) does not vouch for old lines."""
    fill(audit, clock, 2)
    anchor.key_path.unlink()
    writer = AuditLog(
        audit.engine, anchor=AnchorLog(anchor.log_path, anchor.key_path), migrate=False
    )
    writer.append("x", "y", "z", "ok")  # generates a new key
    result = writer.verify()
    assert not result.ok and "checkpoint line 1" in result.reason
    assert "bad signature" in result.reason


@abuse
def test_a_key_others_can_read_is_refused(audit, clock, anchor):
    fill(audit, clock, 1)
    anchor.key_path.chmod(0o644)
    fresh = AuditLog(
        audit.engine, anchor=AnchorLog(anchor.log_path, anchor.key_path), migrate=False
    )
    result = fresh.verify()
    assert not result.ok and "chmod 600" in result.reason


# -- the command line -------------------------------------------------------------------


def run_cli(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HDSS_SETTINGS", "HDSS_LEDGER_DB_URL", ANCHOR_LOG_ENV, ANCHOR_KEY_ENV)
    }
    return subprocess.run(
        [str(VENV_BIN / "hdss-audit"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )


def settings_file(tmp_path, db_url) -> str:
    path = tmp_path / "settings.yaml"
    path.write_text(
        yaml.safe_dump(
            {"hub": {"state_dir": str(tmp_path / "state")}, "ledger": {"db_url": db_url}}
        )
    )
    return str(path)


@abuse
def test_plain_cli_finds_the_anchor_in_the_settings(audit, clock, db_url, tmp_path):
    fill(audit, clock, 3)
    env = {"HDSS_SETTINGS": settings_file(tmp_path, db_url)}
    ok = run_cli("verify", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact: 3 entries" in ok.stdout and "3 checkpoints" in ok.stdout
    delete_from(audit, 3)
    bad = run_cli("verify", env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "entries after seq 2 were removed" in bad.stderr


@abuse
def test_plain_cli_finds_the_anchor_in_the_environment(audit, clock, db_url, anchor):
    fill(audit, clock, 3)
    env = {"HDSS_LEDGER_DB_URL": db_url, **anchor.env()}
    ok = run_cli("verify", env=env)
    assert ok.returncode == 0 and "3 checkpoints" in ok.stdout, ok.stdout + ok.stderr
    rewrite_from(audit, 2, actor="mallory")
    bad = run_cli("verify", env=env)
    assert bad.returncode == 1 and "entry 2 was rewritten" in bad.stderr, bad.stderr
    anchor.log_path.unlink()
    gone = run_cli("verify", "--no-anchors", env=env)
    assert gone.returncode == 0 and "not anchored" in gone.stdout  # said out loud
    gone = run_cli("verify", env=env)
    assert gone.returncode == 1 and "missing" in gone.stderr


def test_cli_options_and_their_errors(audit, clock, db_url, anchor, tmp_path):
    fill(audit, clock, 2)
    env = {"HDSS_SETTINGS": str(tmp_path / "none.yaml")}  # options alone must be enough
    given = run_cli(
        "verify",
        "--db",
        db_url,
        "--anchor-log",
        str(anchor.log_path),
        "--anchor-key",
        str(anchor.key_path),
        env=env,
    )
    assert given.returncode == 0 and "2 checkpoints" in given.stdout, given.stderr
    half = run_cli("verify", "--db", db_url, "--anchor-log", str(anchor.log_path), env=env)
    assert half.returncode == 2 and "both" in half.stderr
    half = run_cli("verify", "--db", db_url, env={ANCHOR_LOG_ENV: str(anchor.log_path)})
    assert half.returncode == 2 and ANCHOR_KEY_ENV in half.stderr
    bad = run_cli("verify", env=env)
    assert bad.returncode == 2 and "none.yaml" in bad.stderr


# -- where the hub and its services write -----------------------------------------------


def test_hub_and_services_anchor_in_the_state_dir(tmp_path):
    from hdss_hub.configure import apply_spawner
    from hdss_hub.ledger.hubconfig import ledger_services
    from hdss_hub.pages import ledger_projects
    from hdss_hub.promotion.hubconfig import promotion_services
    from hdss_hub.settings import load_settings

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"hub": {"state_dir": str(tmp_path / "st")}}))
    settings = load_settings(path, tmp_path)
    expected = AnchorLog.in_state_dir(tmp_path / "st")
    assert expected.log_path == tmp_path / "st" / "audit-anchors.log"
    assert expected.key_path == tmp_path / "st" / "secrets" / "audit-anchor-key"
    c = Config()
    apply_spawner(settings, c)
    assert c.SandboxSpawner.permission_source.anchor == expected  # the hub's own appends
    assert ledger_projects(settings).__self__.anchor == expected
    for service in (*ledger_services(settings), *promotion_services(settings)):
        assert AnchorLog.from_env(service["environment"]) == expected, service["name"]


def test_a_line_still_being_written_is_not_an_error(audit, clock, anchor):
    """A reader may see the end of a concurrent write before its newline."""
    fill(audit, clock, 2)
    with open(anchor.log_path, "a") as f:
        f.write("hdss-anchor-1 3 ab")
    result = audit.verify()
    assert result.ok and result.checkpoints == 2, result.message()
