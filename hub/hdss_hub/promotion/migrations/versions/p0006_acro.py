"""acro's own results found in a request's outbox (shown to data stewards beside ours).

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.add_column(sa.Column("acro", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.drop_column("acro")
