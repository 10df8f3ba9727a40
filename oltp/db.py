"""Engines and sessions for the OLTP database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from stockyard.pg import ensure_postgres, sqlalchemy_url

__all__ = ["get_engine", "session_scope", "make_sessionmaker", "PING_AFTER_IDLE_S"]

# A pooled connection idle for longer than this is pinged before use. ``pool_pre_ping`` pings on every checkout,
# one extra round trip per transaction (a sixth of a place-order transaction); a connection in steady use has
# just proved itself alive, and one that broke in between (server restart under load) fails its first
# statement, which invalidates the pool and which ``oltp.tx.run_in_transaction`` retries on a fresh connection.
PING_AFTER_IDLE_S = 10.0


def _install_idle_ping(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:  # noqa: ARG001 - event signature
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:  # noqa: ARG001
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


@lru_cache(maxsize=8)
def _engine_for(uri: str, pool_size: int) -> Engine:
    engine = create_engine(
        sqlalchemy_url(uri), pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600, future=True
    )
    _install_idle_ping(engine)
    return engine


def get_engine(uri: str | None = None, *, pool_size: int = 10) -> Engine:
    """A pooled engine for ``uri`` (default: the configured server, started if embedded).

    Args:
        uri: ``postgresql://`` URI; None means the configured server (see :func:`stockyard.pg.ensure_postgres`).
        pool_size: Connections kept open (as many more may be opened under bursts).

    Returns:
        The engine, cached per (uri, pool_size). Connections idle for more than :data:`PING_AFTER_IDLE_S` are
        checked before use.
    """
    return _engine_for(uri or ensure_postgres(), pool_size)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory for ``engine`` whose objects stay readable after commit.

    Args:
        engine: The OLTP engine.

    Returns:
        The factory.
    """
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
