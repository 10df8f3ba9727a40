"""Fixtures for ingest tests (helpers live in ``ingest_helpers``)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from integration.ingest.ingest_helpers import MASTER_SQL, add_orders


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream in many small ADBC batches, as large tables do (a query issued mid-stream then fails here too)."""
    from ingest import extract

    monkeypatch.setattr(extract, "BATCH_SIZE_HINT", 2048)


@pytest.fixture
def seeded(pg_uri: str) -> str:
    """A migrated database with master data and a few orders."""
    with psycopg.connect(pg_uri) as conn:
        conn.execute(MASTER_SQL)
    add_orders(pg_uri, 10)
    return pg_uri


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """An empty lake root."""
    return tmp_path / "lake"
