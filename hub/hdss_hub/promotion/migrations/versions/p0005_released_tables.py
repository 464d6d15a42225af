"""The tables released for each project, kept to set new tables against (differencing).

Revision ID: p0005
Revises: p0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "p0005"
down_revision = "p0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_released_tables",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.String(41), nullable=False, index=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("header", sa.JSON, nullable=False),
        sa.Column("rows", sa.JSON, nullable=False),
        sa.Column("released_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("promotion_released_tables")
