"""Alembic environment: the URL comes from the caller (``oltp.migrate``) or from Stockyard's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from oltp.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from stockyard.pg import ensure_postgres, sqlalchemy_url

    return sqlalchemy_url(ensure_postgres())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
