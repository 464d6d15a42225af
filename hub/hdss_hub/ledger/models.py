"""SQLAlchemy models of the permission ledger (schema owned by the alembic migrations)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from hdss_common.db import UTCDateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class PermissionRow(Base):
    """One research permission issued by an authority, as logged by a data steward."""

    __tablename__ = "ledger_permissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.String(41), index=True)
    authority: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str] = mapped_column(sa.String(100), unique=True)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    logged_by: Mapped[str] = mapped_column(sa.String(255))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members: Mapped[list[MemberRow]] = relationship(
        cascade="all, delete-orphan", order_by="MemberRow.username", lazy="selectin"
    )
    datasets: Mapped[list[DatasetRow]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetRow.dataset", lazy="selectin"
    )


class MemberRow(Base):
    __tablename__ = "ledger_members"

    permission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_permissions.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)


class DatasetRow(Base):
    __tablename__ = "ledger_datasets"

    permission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_permissions.id", ondelete="CASCADE"), primary_key=True
    )
    dataset: Mapped[str] = mapped_column(sa.String(63), primary_key=True)
