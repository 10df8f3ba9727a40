"""Run a unit of work in its own transaction, retrying the rare serialization / deadlock failure.

Services are written so deadlocks cannot happen (one global lock order, see ``oltp/locking.md``); the retry is a
safety net for callers that run at SERIALIZABLE or for lock orders outside our control, not a design tool.

A connection that turns out dead on its first use (the server restarted while it sat in the pool; the engine
pings only long-idle connections, see ``oltp.db``) is retried once on a fresh connection too: the failed
transaction cannot have committed. A failure during COMMIT itself is never retried (its outcome is unknown).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from psycopg import errors as pg_errors
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from oltp.db import make_sessionmaker

__all__ = ["run_in_transaction", "RETRYABLE_SQLSTATES"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = ("40001", "40P01")


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(orig, pg_errors.SerializationFailure | pg_errors.DeadlockDetected) or (
        getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    )


def run_in_transaction(engine: Engine, fn: Callable[[Session], T], retries: int = 3) -> T:
    """Call ``fn(session)`` in a new transaction and commit; roll back on error.

    Args:
        engine: Engine of the OLTP database.
        fn: The unit of work; it must not commit itself and must be safe to re-run from scratch.
        retries: How many times a serialization failure or deadlock is retried (with jittered back-off).

    Returns:
        What ``fn`` returned.

    Raises:
        Whatever ``fn`` raised (after the retries for retryable database errors).
    """
    factory = make_sessionmaker(engine)
    attempt = 0
    reconnected = False
    while True:
        session = factory()
        committing = False
        try:
            result = fn(session)
            committing = True
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if exc.connection_invalidated and not committing and not reconnected:
                reconnected = True
                log.warning("retrying transaction on a fresh connection after %s", type(exc.orig).__name__)
                continue
            if not _retryable(exc) or attempt >= retries:
                raise
            attempt += 1
            log.warning(
                "retrying transaction after %s (attempt %d/%d)", type(exc.orig).__name__, attempt, retries
            )
            time.sleep(random.uniform(0.005, 0.05) * attempt)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
