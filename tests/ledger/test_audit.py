"""The audit log: chain, tamper detection, concurrency, export, CLI (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from hdss_hub.audit import AuditLog
from hdss_hub.audit.cli import main as audit_cli

from .helpers import append_from_threads, fill


@pytest.fixture
def audit(db_url, clock):
    log = AuditLog(db_url, clock=clock)
    yield log
    log.engine.dispose()


def test_entries_chain_and_verify(audit, clock):
    fill(audit, clock)
    entries = list(audit.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0].ts == datetime(2026, 11, 1, 12, 0, tzinfo=clock.now.tzinfo)
    assert entries[2].details == {"n": 2}
    result = audit.verify()
    assert result.ok and result.checked == 5 and result.head_seq == 5


def test_altered_entry_is_named(audit, clock):
    fill(audit, clock)
    with audit.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_entries SET outcome = 'denied' WHERE seq = 3"))
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3
    assert "altered" in result.message()


def test_altered_details_are_named(audit, clock):
    fill(audit, clock)
    with audit.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_entries SET details = :d WHERE seq = 4"), {"d": '{"n":99}'})
    assert audit.verify().broken_seq == 4


def test_deleted_entry_is_named(audit, clock):
    fill(audit, clock)
    with audit.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit_entries WHERE seq = 2"))
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2 and "missing" in result.reason


def test_reordered_entries_are_detected(audit, clock):
    fill(audit, clock)
    with audit.engine.begin() as c:  # swap entries 2 and 3 by renumbering them
        c.execute(sa.text("UPDATE audit_entries SET seq = 100 WHERE seq = 2"))
        c.execute(sa.text("UPDATE audit_entries SET seq = 2 WHERE seq = 3"))
        c.execute(sa.text("UPDATE audit_entries SET seq = 3 WHERE seq = 100"))
    assert audit.verify().broken_seq == 2


def test_rewritten_tail_is_caught_by_anchor(audit, clock):
    fill(audit, clock)
    anchor = (5, audit.head().hash)
    with audit.engine.begin() as c:
        c.execute(sa.text("DELETE FROM audit_entries WHERE seq = 5"))
    assert audit.verify().ok  # a shorter chain is still a chain...
    result = audit.verify(anchor=anchor)  # ...but not the one recorded earlier
    assert not result.ok and result.broken_seq == 5


def test_concurrent_appends_lose_nothing(audit):
    threads, per_thread = 6, 15
    assert append_from_threads(audit, threads, per_thread) == []
    entries = list(audit.entries())
    assert [e.seq for e in entries] == list(range(1, threads * per_thread + 1))
    assert {e.target for e in entries} == {
        f"item:{t}:{i}" for t in range(threads) for i in range(per_thread)
    }
    assert audit.verify().ok


def test_rolled_back_transaction_leaves_no_entry(audit):
    with pytest.raises(RuntimeError), audit.engine.begin() as conn:
        audit.append_in(conn, "steve", "permission.log", "permission:1", "ok")
        raise RuntimeError("the change failed")
    assert list(audit.entries()) == []


def test_bad_entries_are_refused(audit, clock):
    with pytest.raises(ValueError, match="actor"):
        audit.append("", "x", "y", "ok")
    with pytest.raises(ValueError, match="JSON"):
        audit.append("steve", "x", "y", "ok", when=object())
    clock.now = clock.now.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone"):
        audit.append("steve", "x", "y", "ok")
    assert list(audit.entries()) == []


def test_export_jsonl(audit, clock):
    fill(audit, clock, 3)
    out = io.StringIO()
    assert audit.export_jsonl(out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"] and lines[0]["ts"].endswith("Z")
    out = io.StringIO()
    assert audit.export_jsonl(out, since=2) == 2
    out = io.StringIO()
    assert audit.export_jsonl(out, since=clock.now.replace(minute=2)) == 1


def test_cli_verify_and_export(audit, clock, db_url, capsys, tmp_path, monkeypatch):
    fill(audit, clock, 3)
    assert audit_cli(["verify", "--db", db_url]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out
    target = tmp_path / "audit.jsonl"
    assert audit_cli(["export", "--db", db_url, "-o", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 3
    with audit.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2"))
    assert audit_cli(["verify", "--db", db_url]) == 1
    assert "broken at entry 2" in capsys.readouterr().err
    monkeypatch.delenv("HDSS_LEDGER_DB_URL", raising=False)
    assert audit_cli(["verify"]) == 2
    assert "--db" in capsys.readouterr().err
