"""The JSON-holding text columns of promotion requests become JSON columns.

The stored text is JSON already (written with json.dumps), so the values carry over:
SQLite copies them into the rebuilt table (batch mode; SQLite keeps JSON as text),
PostgreSQL converts each with ``USING <column>::json``. An empty text in a nullable
column (never written, but it would not parse) becomes NULL first.

Revision ID: p0002
Revises: p0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None

TABLE = "promotion_requests"
# column -> nullable
COLUMNS = {
    "developed_on": False,
    "files": False,
    "notebooks": False,
    "contract": False,
    "checks": True,
    "receipt": True,
}


def upgrade() -> None:
    for column, nullable in COLUMNS.items():
        if nullable:
            op.execute(sa.text(f"UPDATE {TABLE} SET {column} = NULL WHERE {column} = ''"))
    with op.batch_alter_table(TABLE) as batch:
        for column, nullable in COLUMNS.items():
            batch.alter_column(
                column,
                type_=sa.JSON(none_as_null=nullable),
                existing_type=sa.Text,
                existing_nullable=nullable,
                postgresql_using=f"{column}::json",
            )


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for column, nullable in COLUMNS.items():
            batch.alter_column(
                column,
                type_=sa.Text,
                existing_type=sa.JSON,
                existing_nullable=nullable,
                postgresql_using=f"{column}::text",
            )
