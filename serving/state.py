"""Everything an app instance holds: settings, database, keys, limiter, models, features, plans, metrics.

One :class:`ServingState` per app, stored on ``app.state.serving`` and reached by routes only through the
dependencies of :mod:`serving.api.deps` (so tests can override any of them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from serving.auth import KeyStore, RateLimiter
from serving.errors import ServiceUnavailableError
from serving.features import EtaStatsSource, FeatureSource
from serving.metrics import ApiMetrics
from serving.models import ModelManager
from serving.plans import PlanStore
from stockyard.settings import Settings

__all__ = ["Database", "ServingState"]


class Database:
    """The OLTP engine, created on first use (starting the embedded PostgreSQL if needed)."""

    def __init__(self, settings: Settings, *, uri: str | None = None, pool_size: int = 10) -> None:
        """Create the handle (connects nothing yet).

        Args:
            settings: Settings (PostgreSQL DSN or embedded server).
            uri: Explicit libpq URI, overriding the settings.
            pool_size: Connection pool size.
        """
        self._settings = settings
        self._uri = uri
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        """The pooled engine.

        Returns:
            The engine.

        Raises:
            ServiceUnavailableError: PostgreSQL cannot be reached or started.
        """
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from oltp.db import get_engine
                    from stockyard.pg import PostgresError, ensure_postgres

                    try:
                        uri = self._uri or ensure_postgres(self._settings)
                    except PostgresError as exc:
                        raise ServiceUnavailableError(
                            f"database unavailable: {exc}", code="database_unavailable"
                        ) from exc
                    self._engine = get_engine(uri, pool_size=self._pool_size)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction (commit on success, rollback on error).

        Yields:
            The session.
        """
        from oltp.db import session_scope

        with session_scope(self.engine()) as session:
            yield session

    def status(self) -> dict[str, Any]:
        """Ping the database.

        Returns:
            ``{"status": "ok"}`` or ``{"status": "unavailable", "reason": ...}``.
        """
        try:
            with self.engine().connect() as conn:
                conn.execute(text("select 1"))
        except (
            Exception
        ) as exc:  # health reports any failure to reach PostgreSQL as the dependency being down
            return {"status": "unavailable", "reason": str(exc).splitlines()[0][:300]}
        return {"status": "ok"}


@dataclass
class ServingState:
    """The per-app objects routes depend on."""

    settings: Settings
    metrics: ApiMetrics
    db: Database
    key_store: KeyStore
    rate_limiter: RateLimiter
    models: ModelManager
    features: FeatureSource | None
    plans: PlanStore
    extras: dict[str, Any] = field(default_factory=dict)
    eta_stats: EtaStatsSource | None = None
