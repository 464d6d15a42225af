"""The promotion request table (schema owned by the alembic migrations in ``migrations/``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from hdss_common.db import UTCDateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class State(StrEnum):
    """A request's state (stored as its value, a plain string).

    queued -> running -> awaiting-review -> released | rejected
                      -> failed | timed-out (nothing to review; nothing leaves)
    """

    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    AWAITING_REVIEW = "awaiting-review"
    RELEASED = "released"
    REJECTED = "rejected"


STATES = tuple(s.value for s in State)
FINAL = (State.FAILED, State.TIMED_OUT, State.RELEASED, State.REJECTED)


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
    developed_on: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    image: Mapped[str] = mapped_column(sa.String(255))
    image_id: Mapped[str] = mapped_column(sa.String(100))
    files: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # [{path, sha256, size}]
    notebooks: Mapped[list[str]] = mapped_column(sa.JSON)  # [path]
    contract: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # [report]
    run_outcome: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    run_log: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # full (stewards)
    # The runner's own progress events: all of the log a researcher reads.
    run_events: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    checks: Mapped[list[dict[str, Any]] | None] = mapped_column(
        sa.JSON(none_as_null=True), nullable=True
    )  # [file report]
    reviewer: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON(none_as_null=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # promotion.reviewers_required as it was at submission, and the approvals so far
    reviewers_required: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    approvals: Mapped[list[dict[str, Any]] | None] = mapped_column(
        sa.JSON(none_as_null=True), nullable=True
    )  # [{steward, reason, at}]
    # acro's own results found in the outbox (see acroresults.py); data stewards only
    acro: Mapped[list[dict[str, Any]] | None] = mapped_column(
        sa.JSON(none_as_null=True), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReleasedTableRow(Base):
    """A table released for a project (its cells): new tables are set against it
    (differencing, see :mod:`.differencing`)."""

    __tablename__ = "promotion_released_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.String(41), index=True)
    request_id: Mapped[int] = mapped_column(sa.Integer)
    path: Mapped[str] = mapped_column(sa.Text)
    location: Mapped[str] = mapped_column(sa.Text)  # where in the file: "cell 3, table 1"
    header: Mapped[list[str]] = mapped_column(sa.JSON)
    rows: Mapped[list[list[str]]] = mapped_column(sa.JSON)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
