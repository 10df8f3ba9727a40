"""Apply or revert the OLTP schema with Alembic, programmatically (used by ``stockyard init`` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from stockyard.pg import sqlalchemy_url

__all__ = ["alembic_config", "upgrade", "downgrade", "current_revision"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(uri: str) -> Config:
    """An Alembic config for the database at libpq ``uri``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(uri).replace("%", "%%"))
    return cfg


def upgrade(uri: str, revision: str = "head") -> None:
    """Migrate the database at ``uri`` up to ``revision``."""
    command.upgrade(alembic_config(uri), revision)


def downgrade(uri: str, revision: str = "base") -> None:
    """Migrate the database at ``uri`` down to ``revision``."""
    command.downgrade(alembic_config(uri), revision)


def current_revision(uri: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(sqlalchemy_url(uri), poolclass=pool.NullPool)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
