"""The permission ledger's Python API, used by the ledger service and by the spawner.

Every change (log, amend, revoke) writes its audit entry in the same database transaction,
so a change without its entry (or an entry without its change) cannot be stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hdss_common.catalog import CatalogError, Sensitivity, scan
from hdss_common.db import lock_chain, make_engine, upgrade
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hdss_hub.audit import AnchorLog, AuditLog
from hdss_hub.audit.log import utcnow

from .errors import Conflict, Forbidden, InvalidRequest, NotFound
from .models import DatasetRow, MemberRow, PermissionRow
from .schemas import AmendIn, PermissionIn, RevokeIn, parse

log = logging.getLogger(__name__)

VERSION_TABLE = "hdss_ledger_version"
STATES = ("pending", "active", "expired", "revoked")
FOUR_EYES = "four eyes: a data steward may not log or amend a permission that names themselves"


def state_at(row: PermissionRow, now: datetime) -> str:
    """revoked, expired (valid_until passed), pending (not yet valid_from) or active."""
    if row.revoked_at is not None:
        return "revoked"
    if now >= row.valid_until:
        return "expired"
    if now < row.valid_from:
        return "pending"
    return "active"


@dataclass(frozen=True)
class Permission:
    """A snapshot of one permission; ``state`` is as of the ledger's clock when read."""

    id: int
    project_id: str
    members: tuple[str, ...]
    datasets: tuple[str, ...]
    authority: str
    reference: str
    legal_basis: str
    logged_by: str
    valid_from: datetime
    valid_until: datetime
    state: str
    version: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.state == "active"

    @classmethod
    def from_row(cls, row: PermissionRow, now: datetime) -> Permission:
        return cls(
            id=row.id,
            project_id=row.project_id,
            members=tuple(m.username for m in row.members),
            datasets=tuple(d.dataset for d in row.datasets),
            authority=row.authority,
            reference=row.reference,
            legal_basis=row.legal_basis,
            logged_by=row.logged_by,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            state=state_at(row, now),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            revoked_at=row.revoked_at,
            revoked_by=row.revoked_by,
            revoke_reason=row.revoke_reason,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, datetime):
                value = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


class Ledger:
    """Log, amend, revoke and look up research permissions.

    ``url`` is a SQLAlchemy URL (or engine); the schema is migrated to the newest version on
    construction unless ``migrate=False``. ``clock`` returns timezone-aware now.
    ``restricted_root`` is the restricted catalogue's root: datasets must be published there.
    ``known_users`` returns the hub's usernames; members must be among them (None: not
    checked here, the service always checks). ``anchor`` is where the audit log's
    checkpoints go (see :mod:`hdss_hub.audit.anchor`; None: not anchored).

    Four eyes: a steward never logs or amends a permission that names themselves.
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        clock: Callable[[], datetime] = utcnow,
        restricted_root: str | Path | None = None,
        known_users: Callable[[], Collection[str]] | None = None,
        migrate: bool = True,
        anchor: AnchorLog | None = None,
    ) -> None:
        self.engine = make_engine(url)
        self.clock = clock
        self.restricted_root = Path(restricted_root) if restricted_root else None
        self.known_users = known_users
        if migrate:
            upgrade(self.engine, "hdss_hub.audit", "hdss_audit_version")
            upgrade(self.engine, "hdss_hub.ledger", VERSION_TABLE)
        self.audit = AuditLog(self.engine, clock=clock, migrate=False, anchor=anchor)

    # -- lookups for the spawner --------------------------------------------------------

    def active_permission(self, username: str, project_id: str) -> Permission | None:
        """The permission that lets ``username`` use ``project_id``'s data now, if any."""
        now = self.clock()
        query = (
            sa.select(PermissionRow)
            .join(MemberRow)
            .where(
                MemberRow.username == username,
                PermissionRow.project_id == project_id,
                PermissionRow.revoked_at.is_(None),
                PermissionRow.valid_from <= now,
                PermissionRow.valid_until > now,
            )
            .order_by(PermissionRow.valid_from.desc())
        )
        with Session(self.engine) as s:
            row = s.scalars(query).first()
            return Permission.from_row(row, now) if row else None

    def why_not(self, username: str, project_id: str) -> str:
        """Why ``username`` has no active permission for ``project_id``, for a person to act on."""
        perms = self.list(project_id=project_id)
        if not perms:
            return (
                f"project {project_id} has no permission in the ledger; a data steward "
                "logs it once the authority has approved the project"
            )
        own = [p for p in perms if username in p.members]
        if not own:
            return (
                f"{username} is not a member of project {project_id}; ask a data steward "
                "to add you to the permission"
            )
        latest = max(own, key=lambda p: p.valid_until)
        if latest.state == "revoked":
            return (
                f"the permission for {project_id} (reference {latest.reference}) was revoked "
                f"by {latest.revoked_by}: {latest.revoke_reason}"
            )
        if latest.state == "expired":
            return (
                f"the permission for {project_id} (reference {latest.reference}) expired on "
                f"{latest.valid_until:%Y-%m-%d %H:%M} UTC; ask a data steward to record "
                "an extension"
            )
        if latest.state == "pending":
            return (
                f"the permission for {project_id} starts on {latest.valid_from:%Y-%m-%d %H:%M} UTC"
            )
        return f"{username} has an active permission for {project_id}"

    def projects_for(self, username: str, *, include_inactive: bool = False) -> list[Permission]:
        """``username``'s permissions: only active ones unless ``include_inactive``."""
        found = self.list(member=username)
        return found if include_inactive else [p for p in found if p.active]

    def get(self, permission_id: int) -> Permission:
        with Session(self.engine) as s:
            row = s.get(PermissionRow, permission_id)
            if row is None:
                raise NotFound(f"no permission with id {permission_id}")
            return Permission.from_row(row, self.clock())

    def list(
        self, *, member: str | None = None, project_id: str | None = None, state: str | None = None
    ) -> list[Permission]:
        query = sa.select(PermissionRow).order_by(PermissionRow.id)
        if member is not None:
            query = query.where(PermissionRow.members.any(MemberRow.username == member))
        if project_id is not None:
            query = query.where(PermissionRow.project_id == project_id)
        now = self.clock()
        with Session(self.engine) as s:
            out = [Permission.from_row(r, now) for r in s.scalars(query)]
        return [p for p in out if state is None or p.state == state]

    # -- changes by data stewards -------------------------------------------------------

    def log(
        self, data: dict | PermissionIn, *, steward: str, known_users: Collection[str] | None = None
    ) -> Permission:
        """Record a new permission; refused (nothing stored) with :class:`LedgerError`."""
        new: PermissionIn = parse(PermissionIn, data)  # type: ignore[assignment]
        now = self.clock()
        if new.valid_until <= now:
            raise InvalidRequest(
                f"valid_until {new.valid_until.isoformat()} is already past; "
                "a permission must end in the future"
            )
        self._check_four_eyes(steward, "permission.log", f"project:{new.project_id}", new.members)
        self._check_datasets(new.datasets)
        self._check_users(new.members, known_users)
        with Session(self.engine) as s, s.begin():
            lock_chain(s.connection())
            self._check_reference(s, new.reference)
            self._check_overlap(s, new.project_id, new.valid_from, new.valid_until)
            row = PermissionRow(
                project_id=new.project_id,
                authority=new.authority,
                reference=new.reference,
                legal_basis=new.legal_basis,
                logged_by=steward,
                valid_from=new.valid_from,
                valid_until=new.valid_until,
                version=1,
                created_at=now,
                updated_at=now,
                members=[MemberRow(username=u) for u in new.members],
                datasets=[DatasetRow(dataset=d) for d in new.datasets],
            )
            s.add(row)
            self._flush(s)
            perm = Permission.from_row(row, now)
            entry = self.audit.append_in(
                s.connection(),
                steward,
                "permission.log",
                f"permission:{row.id}",
                "ok",
                permission=perm.to_json(),
            )
        self.audit.anchor(entry)
        log.info("%s logged permission %s for project %s", steward, perm.id, perm.project_id)
        return perm

    def amend(
        self,
        permission_id: int,
        data: dict | AmendIn,
        *,
        steward: str,
        known_users: Collection[str] | None = None,
    ) -> Permission:
        """Change members, datasets, dates or text of a permission, with a reason."""
        change: AmendIn = parse(AmendIn, data)  # type: ignore[assignment]
        now = self.clock()
        if change.datasets is not None:
            self._check_datasets(change.datasets)
        # Checked (and a refusal audited) outside the transaction: the audit append takes
        # the chain's lock, which the transaction below holds.
        self._check_four_eyes(
            steward,
            "permission.amend",
            f"permission:{permission_id}",
            [*self.get(permission_id).members, *(change.members or [])],
        )
        with Session(self.engine) as s, s.begin():
            lock_chain(s.connection())
            row = self._row(s, permission_id)
            if row.revoked_at is not None:
                raise Conflict(
                    f"permission {permission_id} is revoked; log a new permission "
                    "instead of amending a revoked one"
                )
            before = Permission.from_row(row, now)
            refused = self._four_eyes(steward, [*before.members, *(change.members or [])])
            if refused is not None:  # members changed since the check above
                raise refused
            if change.members is not None:
                added = sorted(set(change.members) - set(before.members))
                self._check_users(added, known_users)
            valid_from = change.valid_from or row.valid_from
            valid_until = change.valid_until or row.valid_until
            if valid_until <= valid_from:
                raise InvalidRequest(
                    "valid_until must be after valid_from (the permission "
                    "would end before it starts)"
                )
            if change.valid_until is not None and valid_until <= now:
                raise InvalidRequest(
                    "valid_until is already past; to end a permission now, revoke it"
                )
            self._check_overlap(s, row.project_id, valid_from, valid_until, exclude=row.id)
            diff: dict[str, Any] = {}
            for key, value in change.changes().items():
                old = before.to_json()[key]
                if key == "members":
                    row.members = [MemberRow(username=u) for u in value]
                elif key == "datasets":
                    row.datasets = [DatasetRow(dataset=d) for d in value]
                else:
                    setattr(row, key, value)
                if isinstance(value, datetime):
                    value = value.isoformat().replace("+00:00", "Z")
                if old != value:
                    diff[key] = {"before": old, "after": value}
            if not diff:
                raise InvalidRequest("nothing would change: the values given are the stored ones")
            row.version += 1
            row.updated_at = now
            self._flush(s)
            s.refresh(row)
            perm = Permission.from_row(row, now)
            entry = self.audit.append_in(
                s.connection(),
                steward,
                "permission.amend",
                f"permission:{row.id}",
                "ok",
                project_id=row.project_id,
                reference=row.reference,
                reason=change.reason,
                changes=diff,
                version=row.version,
            )
        self.audit.anchor(entry)
        return perm

    def revoke(
        self, permission_id: int, data: dict | RevokeIn | str, *, steward: str
    ) -> Permission:
        """End a permission now, with a reason; the reconciler stops its servers."""
        if isinstance(data, str):
            data = {"reason": data}
        req: RevokeIn = parse(RevokeIn, data)  # type: ignore[assignment]
        now = self.clock()
        with Session(self.engine) as s, s.begin():
            lock_chain(s.connection())
            row = self._row(s, permission_id)
            if row.revoked_at is not None:
                raise Conflict(
                    f"permission {permission_id} was already revoked at "
                    f"{row.revoked_at.isoformat()} by {row.revoked_by}"
                )
            row.revoked_at, row.revoked_by, row.revoke_reason = now, steward, req.reason
            row.version += 1
            row.updated_at = now
            self._flush(s)
            perm = Permission.from_row(row, now)
            entry = self.audit.append_in(
                s.connection(),
                steward,
                "permission.revoke",
                f"permission:{row.id}",
                "ok",
                project_id=row.project_id,
                reference=row.reference,
                reason=req.reason,
                members=list(perm.members),
            )
        self.audit.anchor(entry)
        return perm

    # -- checks -------------------------------------------------------------------------

    @staticmethod
    def _four_eyes(steward: str, members: Collection[str]) -> Forbidden | None:
        """The refusal when ``steward`` is among ``members`` (before or after the change)."""
        if steward not in members:
            return None
        return Forbidden(
            f"{FOUR_EYES} ({steward} is a member); ask another data steward to record "
            "this permission or change"
        )

    def _check_four_eyes(
        self, steward: str, action: str, target: str, members: Collection[str]
    ) -> None:
        """Refuse, with an audit entry, a steward logging or amending a permission naming
        themselves. Revoking one stays allowed: ending access needs no second pair of eyes.
        """
        refused = self._four_eyes(steward, members)
        if refused is not None:
            self.audit.append(steward, action, target, "denied", reason=FOUR_EYES)
            raise refused

    def restricted_datasets(self) -> set[str]:
        """Names published in the restricted catalogue (empty when none is configured)."""
        if self.restricted_root is None:
            return set()
        try:
            return {e.name for e in scan(self.restricted_root, Sensitivity.RESTRICTED)}
        except CatalogError:
            return set()

    def _check_datasets(self, names: Collection[str]) -> None:
        if self.restricted_root is None:
            raise InvalidRequest(
                "no restricted catalogue is configured (data.restricted_root),"
                " so no dataset can be granted; ask the operator"
            )
        published = self.restricted_datasets()
        unknown = sorted(set(names) - published)
        if unknown:
            have = ", ".join(sorted(published)) or "none"
            raise InvalidRequest(
                f"unknown restricted dataset(s): {', '.join(unknown)}; "
                f"published restricted datasets: {have}"
            )

    def _check_users(self, names: Collection[str], known: Collection[str] | None) -> None:
        if known is None and self.known_users is not None:
            known = self.known_users()
        if known is None or not names:
            return
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise InvalidRequest(
                f"unknown hub user(s): {', '.join(unknown)}; each member must "
                "have logged in to the hub once (or be added by an admin)"
            )

    @staticmethod
    def _check_reference(s: Session, reference: str) -> None:
        other = s.scalars(
            sa.select(PermissionRow).where(PermissionRow.reference == reference)
        ).first()
        if other is not None:
            raise Conflict(
                f"reference number {reference} is already logged (permission "
                f"{other.id}, project {other.project_id}); amend that permission"
            )

    @staticmethod
    def _check_overlap(
        s: Session, project_id: str, start: datetime, end: datetime, exclude: int | None = None
    ) -> None:
        query = sa.select(PermissionRow).where(
            PermissionRow.project_id == project_id,
            PermissionRow.revoked_at.is_(None),
            PermissionRow.valid_from < end,
            PermissionRow.valid_until > start,
        )
        if exclude is not None:
            query = query.where(PermissionRow.id != exclude)
        other = s.scalars(query).first()
        if other is not None:
            raise Conflict(
                f"project {project_id} already has permission {other.id} "
                f"(reference {other.reference}) for an overlapping period; amend it "
                "or revoke it first"
            )

    @staticmethod
    def _row(s: Session, permission_id: int) -> PermissionRow:
        row = s.get(PermissionRow, permission_id)
        if row is None:
            raise NotFound(f"no permission with id {permission_id}")
        return row

    @staticmethod
    def _flush(s: Session) -> None:
        try:
            s.flush()
        except IntegrityError as e:
            raise Conflict(f"the ledger refused the change: {e.orig}") from None
