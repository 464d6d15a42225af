"""The run's own progress events, kept apart from its full log.

A researcher reads only ``run_events`` (written by the runner, never a filter over what a
notebook printed); data stewards read ``run_log``. Requests run before this revision have
no events: their researchers see no log.

Revision ID: p0003
Revises: p0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "p0003"
down_revision = "p0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.add_column(sa.Column("run_events", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.drop_column("run_events")
