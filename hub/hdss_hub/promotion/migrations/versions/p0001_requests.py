"""Promotion requests: snapshot, contract, run, checks, review and receipt.

Revision ID: p0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.String(41), nullable=False, index=True),
        sa.Column("requester", sa.String(255), nullable=False, index=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("dataset", sa.String(63), nullable=False),
        sa.Column("dataset_version", sa.String(200), nullable=False),
        sa.Column("developed_on", sa.Text, nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("image_id", sa.String(100), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("notebooks", sa.Text, nullable=False),
        sa.Column("contract", sa.Text, nullable=False),
        sa.Column("run_outcome", sa.Text, nullable=True),
        sa.Column("run_log", sa.Text, nullable=True),
        sa.Column("checks", sa.Text, nullable=True),
        sa.Column("reviewer", sa.String(255), nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
        sa.Column("receipt", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("promotion_requests")
