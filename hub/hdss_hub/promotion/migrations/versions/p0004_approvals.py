"""Two-person rule: the approvals a request needs and has.

``reviewers_required`` is ``promotion.reviewers_required`` as it was at submission (NULL,
for requests made before, means 1); ``approvals`` lists each approving steward with their
reason and time.

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision = "p0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.add_column(sa.Column("reviewers_required", sa.Integer, nullable=True))
        batch.add_column(sa.Column("approvals", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotion_requests") as batch:
        batch.drop_column("approvals")
        batch.drop_column("reviewers_required")
