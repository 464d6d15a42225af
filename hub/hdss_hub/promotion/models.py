"""The promotion request table (schema owned by the alembic migrations in ``migrations/``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from hdss_common.db import UTCDateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# queued -> running -> awaiting-review -> released | rejected
#                   -> failed | timed-out (nothing to review; nothing leaves)
STATES = ("queued", "running", "failed", "timed-out", "awaiting-review", "released", "rejected")
FINAL = ("failed", "timed-out", "released", "rejected")


class Base(DeclarativeBase):
    pass


class RequestRow(Base):
    __tablename__ = "promotion_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.String(41))
    requester: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[str] = mapped_column(sa.String(30))
    dataset: Mapped[str] = mapped_column(sa.String(63))
    dataset_version: Mapped[str] = mapped_column(sa.String(200))
    developed_on: Mapped[str] = mapped_column(sa.Text)  # JSON
    image: Mapped[str] = mapped_column(sa.String(255))
    image_id: Mapped[str] = mapped_column(sa.String(100))
    files: Mapped[str] = mapped_column(sa.Text)  # JSON [{path, sha256, size}]
    notebooks: Mapped[str] = mapped_column(sa.Text)  # JSON [path]
    contract: Mapped[str] = mapped_column(sa.Text)  # JSON [report]
    run_outcome: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    run_log: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    checks: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # JSON [file report]
    reviewer: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    receipt: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
