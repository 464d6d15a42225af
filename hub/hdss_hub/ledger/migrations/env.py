from alembic import context
from hdss_common.db import run_migrations_online

run_migrations_online(context)
