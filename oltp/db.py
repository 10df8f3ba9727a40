"""Engines and sessions for the OLTP database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from stockyard.pg import ensure_postgres, sqlalchemy_url

__all__ = ["get_engine", "session_scope", "make_sessionmaker"]


@lru_cache(maxsize=8)
def _engine_for(uri: str, pool_size: int) -> Engine:
    return create_engine(
        sqlalchemy_url(uri), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, future=True
    )


def get_engine(uri: str | None = None, *, pool_size: int = 10) -> Engine:
    """A pooled engine for ``uri`` (default: the configured server, started if embedded)."""
    return _engine_for(uri or ensure_postgres(), pool_size)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = make_sessionmaker(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
