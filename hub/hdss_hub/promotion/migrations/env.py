from alembic import context

from hdss_hub.audit.db import run_migrations_online

run_migrations_online(context)
