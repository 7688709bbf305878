"""Alembic environment: runs migrations online against the configured database."""

from alembic import context
from sqlalchemy import create_engine

from compstat.db import resolve_url

config = context.config
url = config.get_main_option("sqlalchemy.url") or resolve_url()

connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
