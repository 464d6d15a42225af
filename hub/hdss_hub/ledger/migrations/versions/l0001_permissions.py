"""The permission ledger: permissions, their members and datasets.

Revision ID: l0001
Revises:
Create Date: 2026-11-01
"""

import sqlalchemy as sa
from alembic import op

revision = "l0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_permissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.String(41), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("logged_by", sa.String(255), nullable=False),
        sa.Column("valid_from", sa.DateTime, nullable=False),
        sa.Column("valid_until", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.Column("revoked_by", sa.String(255), nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("reference", name="uq_ledger_permissions_reference"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_ledger_permissions_window"),
    )
    op.create_index("ix_ledger_permissions_project_id", "ledger_permissions", ["project_id"])
    op.create_table(
        "ledger_members",
        sa.Column(
            "permission_id",
            sa.Integer,
            sa.ForeignKey("ledger_permissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("username", sa.String(255), primary_key=True),
    )
    op.create_index("ix_ledger_members_username", "ledger_members", ["username"])
    op.create_table(
        "ledger_datasets",
        sa.Column(
            "permission_id",
            sa.Integer,
            sa.ForeignKey("ledger_permissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("dataset", sa.String(63), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("ledger_datasets")
    op.drop_index("ix_ledger_members_username", "ledger_members")
    op.drop_table("ledger_members")
    op.drop_index("ix_ledger_permissions_project_id", "ledger_permissions")
    op.drop_table("ledger_permissions")
