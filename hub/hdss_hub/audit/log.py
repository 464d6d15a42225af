"""The tamper-evident audit log: an append-only table whose entries are hash-chained.

Each entry's ``hash`` is the SHA-256 of a canonical JSON of the entry (its ``seq``,
timestamp, actor, action, target, outcome, details) together with the previous entry's
hash. Changing, deleting or reordering any stored entry therefore breaks the chain at that
entry, and :meth:`AuditLog.verify` names it. Removing entries from the *end*, or rewriting
an entry and recomputing every hash after it, leaves a valid chain: with an
:class:`~hdss_hub.audit.anchor.AnchorLog` every committed append also writes a signed
checkpoint outside the database, and ``verify`` checks the chain against all of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import sqlalchemy as sa
from hdss_common.db import lock_chain, make_engine, upgrade
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from .anchor import AnchorError, AnchorLog, Checkpoint, Reading

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
VERSION_TABLE = "hdss_audit_version"
MAX_APPEND_ATTEMPTS = 20

metadata = sa.MetaData()
entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("outcome", sa.String(50), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)


def utcnow() -> datetime:
    """Timezone-aware now; a standalone function so tests can replace the clock."""
    return datetime.now(UTC)


def format_ts(ts: datetime) -> str:
    """The one textual form of a timestamp that goes into the hash (UTC, microseconds)."""
    if ts.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware; the clock returned a naive one")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the same value always gives the same text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(
    seq: int,
    ts: str,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    details: dict,
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "details": details,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored."""

    seq: int
    ts: datetime
    actor: str
    action: str
    target: str
    outcome: str
    details: dict = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ts"] = format_ts(self.ts)
        return out

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        return cls(
            seq=row.seq,
            ts=parse_ts(row.ts),
            actor=row.actor,
            action=row.action,
            target=row.target,
            outcome=row.outcome,
            details=json.loads(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :meth:`AuditLog.verify`; ``broken_seq`` names the first bad entry."""

    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    broken_seq: int | None = None
    reason: str = ""
    #: checked against an anchor log (None: no anchors were configured)
    anchor_log: str | None = None
    checkpoints: int = 0
    newest_checkpoint: Checkpoint | None = None

    def __bool__(self) -> bool:
        return self.ok

    def message(self) -> str:
        if not self.ok:
            if self.broken_seq is None:
                return f"audit log not verified: {self.reason}"
            return f"audit log broken at entry {self.broken_seq}: {self.reason}"
        text = f"audit log intact: {self.checked} entries, head {self.head_seq} {self.head_hash}"
        if self.anchor_log is None:
            return (
                f"{text}; not anchored (no anchor log configured), so removed newest "
                "entries or a re-hashed chain would not be noticed"
            )
        newest = self.newest_checkpoint
        if newest is None:
            return f"{text}; no checkpoints yet in {self.anchor_log}"
        text += (
            f"; {self.checkpoints} checkpoints in {self.anchor_log} agree, the newest for "
            f"entry {newest.seq} written {newest.ts}"
        )
        if self.head_seq and self.head_seq > newest.seq:
            text += f" (entries {newest.seq + 1}-{self.head_seq} not anchored yet)"
        return text


class AuditLog:
    """Append to, verify and export the audit log stored in one database.

    ``clock`` returns the timezone-aware time of new entries (injectable for tests).
    With ``migrate`` (the default) the table is created or upgraded on first use.
    ``anchor`` is where checkpoints go after each committed append, and what ``verify``
    checks them against (None: not anchored).
    """

    def __init__(
        self,
        engine_or_url: Engine | str,
        *,
        clock: Callable[[], datetime] = utcnow,
        migrate: bool = True,
        anchor: AnchorLog | None = None,
    ) -> None:
        self.engine = make_engine(engine_or_url)
        self.clock = clock
        self.anchor_log = anchor
        if migrate:
            upgrade(self.engine, "hdss_hub.audit", VERSION_TABLE)

    # -- writing ------------------------------------------------------------------------

    def append(self, actor: str, action: str, target: str, outcome: str, **details: Any) -> Entry:
        """Append one entry in its own transaction (retried until it is stored), then anchor it."""
        for attempt in range(1, MAX_APPEND_ATTEMPTS + 1):
            try:
                with self.engine.begin() as conn:
                    entry = self.append_in(conn, actor, action, target, outcome, **details)
            except (IntegrityError, OperationalError) as e:
                # Another writer won the race for this seq, or the lock wait timed out.
                if attempt == MAX_APPEND_ATTEMPTS:
                    raise
                log.warning("audit append retry %s after %s", attempt, type(e).__name__)
                time.sleep(min(0.01 * 2**attempt, 1.0))
            else:
                self.anchor(entry)
                return entry
        raise AssertionError("unreachable")  # pragma: no cover

    def anchor(self, entry: Entry) -> None:
        """Write the checkpoint of a committed ``entry`` (no-op when not anchored).

        Call it after the commit of a transaction that used :meth:`append_in`. A failure is
        logged, not raised: the entry is stored and chained, and the next checkpoint that
        is written covers it (``verify`` reports the entries not anchored yet).
        """
        if self.anchor_log is None:
            return
        try:
            self.anchor_log.write(entry.seq, entry.hash)
        except AnchorError as e:
            log.error("audit entry %s is stored but not anchored: %s", entry.seq, e)

    def checkpoint(self) -> Entry | None:
        """Anchor the current head (a service does this at start); raises AnchorError."""
        head = self.head()
        if head is not None and self.anchor_log is not None:
            self.anchor_log.write(head.seq, head.hash)
        return head

    def append_in(
        self, conn: Connection, actor: str, action: str, target: str, outcome: str, **details: Any
    ) -> Entry:
        """Append one entry inside the caller's transaction (committed or rolled back with it).

        After the commit, pass the returned entry to :meth:`anchor`.
        """
        for name, value in (
            ("actor", actor),
            ("action", action),
            ("target", target),
            ("outcome", outcome),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"audit entry needs a non-empty string {name}, got {value!r}")
        try:
            details_json = canonical_json(details)
        except (TypeError, ValueError) as e:
            raise ValueError(f"audit details must be plain JSON values: {e}") from e
        details = json.loads(details_json)
        lock_chain(conn)
        last = conn.execute(
            sa.select(entries.c.seq, entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
        ).first()
        seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
        ts = format_ts(self.clock())
        digest = entry_hash(seq, ts, actor, action, target, outcome, details, prev_hash)
        conn.execute(
            entries.insert().values(
                seq=seq,
                ts=ts,
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                details=details_json,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        return Entry(seq, parse_ts(ts), actor, action, target, outcome, details, prev_hash, digest)

    # -- reading ------------------------------------------------------------------------

    def entries(
        self,
        since: int | datetime | None = None,
        limit: int | None = None,
        action: str | None = None,
    ) -> Iterator[Entry]:
        """Entries in chain order; ``since`` is a first seq or an earliest time."""
        query = sa.select(entries).order_by(entries.c.seq)
        if isinstance(since, datetime):
            query = query.where(entries.c.ts >= format_ts(since))
        elif since is not None:
            query = query.where(entries.c.seq >= int(since))
        if action is not None:
            query = query.where(entries.c.action == action)
        if limit is not None:
            query = query.limit(limit)
        # The result is closed explicitly, also when the caller stops early: on PostgreSQL
        # yield_per reads through a server-side cursor that must not outlive its connection.
        with (
            self.engine.connect() as conn,
            conn.execution_options(yield_per=1000).execute(query) as result,
        ):
            for row in result:
                yield Entry.from_row(row)

    def latest(self, action: str, target: str, outcome: str | None = None) -> Entry | None:
        """The newest entry of ``action`` on ``target`` (and ``outcome``), if any."""
        query = (
            sa.select(entries)
            .where(entries.c.action == action, entries.c.target == target)
            .order_by(entries.c.seq.desc())
            .limit(1)
        )
        if outcome is not None:
            query = query.where(entries.c.outcome == outcome)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Entry.from_row(row)

    def head(self) -> Entry | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).order_by(entries.c.seq.desc()).limit(1)).first()
        return Entry.from_row(row) if row else None

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Recompute the chain and check it against the checkpoints; the first problem is named.

        With an anchor log (``AuditLog(..., anchor=...)``) every checkpoint line must carry
        a valid HMAC, the entry it names must still have that hash, and the chain must
        reach the newest checkpoint; a missing anchor log or key fails once the chain has
        entries. The anchor log is read before the chain, so an append committed meanwhile
        is never mistaken for a removal. ``anchor`` is one ``(seq, hash)`` recorded by hand
        (e.g. from an export): the chain must still contain exactly that entry.
        """
        anchors = self.anchor_log
        where = str(anchors.log_path) if anchors is not None else None
        reading = anchors.read() if anchors is not None else Reading()

        def fail(seq: int | None, reason: str, checked: int = 0) -> VerifyResult:
            return VerifyResult(False, checked, broken_seq=seq, reason=reason, anchor_log=where)

        if reading.problem:
            return fail(None, reading.problem)
        expected_seq, prev_hash, checked, last = 1, GENESIS_HASH, 0, None
        query = sa.select(entries).order_by(entries.c.seq)
        with (
            self.engine.connect() as conn,
            conn.execution_options(yield_per=1000).execute(query) as result,
        ):
            for row in result:
                if row.seq != expected_seq:
                    return fail(
                        expected_seq,
                        f"entry {expected_seq} is missing (next stored entry is {row.seq})",
                        checked,
                    )
                if row.prev_hash != prev_hash:
                    return fail(
                        row.seq,
                        "its prev_hash does not match the hash of the "
                        "entry before it (deleted, reordered or altered)",
                        checked,
                    )
                try:
                    details = json.loads(row.details)
                except ValueError:
                    return fail(row.seq, "its details are not valid JSON", checked)
                digest = entry_hash(
                    row.seq,
                    row.ts,
                    row.actor,
                    row.action,
                    row.target,
                    row.outcome,
                    details,
                    row.prev_hash,
                )
                if digest != row.hash:
                    return fail(row.seq, "its content does not match its hash (altered)", checked)
                problem = _against_checkpoints(reading, row.seq, row.hash)
                if problem:
                    return fail(row.seq, problem, checked)
                checked += 1
                prev_hash, last = row.hash, row
                expected_seq += 1
        head = last.seq if last else 0
        if anchors is not None:
            if reading.missing_key and (checked or not reading.missing_log):
                return fail(
                    None,
                    f"the anchor key {anchors.key_path} is missing, so the checkpoints in "
                    f"{anchors.log_path} cannot be checked (restore the key file from its "
                    "backup; a new key would not match the checkpoints already written)",
                    checked,
                )
            if reading.missing_log and checked:
                return fail(
                    None,
                    f"the anchor log {anchors.log_path} is missing but the chain has "
                    f"{checked} entries: its checkpoints were deleted or moved (every "
                    "writer adds one after each entry, and the ledger service at start)",
                    checked,
                )
            newest = reading.newest
            if newest is not None and newest.seq > head:
                return fail(
                    head + 1,
                    f"entries after seq {head} were removed: the checkpoint of {newest.ts} "
                    f"(line {newest.line} of {anchors.log_path}) records entry {newest.seq}",
                    checked,
                )
        if anchor is not None:
            a_seq, a_hash = anchor
            if last is None or last.seq < a_seq:
                return fail(a_seq, f"anchored entry {a_seq} is gone (log truncated)", checked)
            with self.engine.connect() as conn:
                stored = conn.execute(
                    sa.select(entries.c.hash).where(entries.c.seq == a_seq)
                ).scalar()
            if stored != a_hash:
                return fail(a_seq, "its hash differs from the anchor recorded earlier", checked)
        return VerifyResult(
            True,
            checked,
            head_seq=head,
            head_hash=last.hash if last else GENESIS_HASH,
            anchor_log=where,
            checkpoints=reading.lines,
            newest_checkpoint=reading.newest,
        )

    def export_jsonl(self, fp: IO[str], since: int | datetime | None = None) -> int:
        """Write entries as JSON lines (one canonical object per line); returns the count."""
        count = 0
        for entry in self.entries(since=since):
            fp.write(canonical_json(entry.to_json()) + "\n")
            count += 1
        return count


def _against_checkpoints(reading: Reading, seq: int, digest: str) -> str:
    """Why stored entry ``seq`` with ``digest`` contradicts the checkpoints ('' if it does not)."""
    first = reading.checkpoints.get(seq)
    if first is None:
        return ""
    if first.hash != digest:
        return f"entry {seq} was rewritten (hash differs from checkpoint of {first.ts}, line {first.line})"
    other = reading.conflicts.get(seq)
    if other is not None:
        return (
            f"entry {seq} has two checkpoints that disagree (lines {first.line} and "
            f"{other.line}, of {first.ts} and {other.ts}): the chain was rewritten and "
            "anchored again in between"
        )
    return ""
