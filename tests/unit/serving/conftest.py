"""Unit fixtures for the API: in-memory keys, a fake registry and fake model, no database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.apikeys import SCOPES
from serving.auth import InMemoryKeyStore
from unit.serving.api_fakes import FakeLoader, build_app, make_key


@pytest.fixture
def key_store() -> InMemoryKeyStore:
    return InMemoryKeyStore()


@pytest.fixture
def loader() -> FakeLoader:
    return FakeLoader({"demand_forecast": "1"})


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    from stockyard.settings import Settings

    # An unreachable external DSN: nothing in a unit test can start (or reach) a PostgreSQL server.
    return Settings(
        home=tmp_path / "home",
        pg_dsn="postgresql://nobody@127.0.0.1:1/none",
        api_rate_limit_per_minute=100_000,
    )


@pytest.fixture
def app(settings: Any, key_store: InMemoryKeyStore, loader: FakeLoader) -> FastAPI:
    return build_app(settings, key_store, loader)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin_key(key_store: InMemoryKeyStore) -> str:
    return make_key(key_store, "admin", {"admin"})


@pytest.fixture
def all_scopes_key(key_store: InMemoryKeyStore) -> str:
    return make_key(key_store, "everything", SCOPES - {"admin"})
