"""Fakes of our own abstractions for the API unit tests: in-memory keys, registry, model, features, no database."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pandas as pd
from fastapi import FastAPI

from serving.apikeys import StoredKey, hash_key
from serving.auth import InMemoryKeyStore
from serving.errors import ServiceUnavailableError
from serving.features import SeriesFeatures
from stockyard.errors import NotFoundError


def make_key(
    store: InMemoryKeyStore, name: str, scopes: set[str] | frozenset[str], *, active: bool = True
) -> str:
    """Add a key with ``scopes`` to ``store`` and return its plaintext."""
    prefix = secrets.token_hex(4)
    key = f"sy_{prefix}_{secrets.token_urlsafe(32)}"
    store.add(
        StoredKey(
            name=name, prefix=prefix, key_hash=hash_key(key), scopes=frozenset(scopes), is_active=active
        )
    )
    return key


class FakeQuantileModel:
    """Stands in for the pyfunc: p50 = 10 * horizon + offset, p10/p90 around it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self.calls = 0

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.calls += 1
        h = frame["horizon"].astype(float)
        return pd.DataFrame(
            {"p10": 10 * h + self.offset - 1, "p50": 10 * h + self.offset, "p90": 10 * h + self.offset + 1}
        )


class FakeLoader:
    """A registry whose alias the test moves; ``load`` builds a model whose offset is the version number."""

    def __init__(self, versions: dict[str, str | None] | None = None) -> None:
        self.versions: dict[str, str | None] = versions or {}
        self.fail_versions: set[str] = set()
        self.loads: list[tuple[str, str]] = []

    def resolve(self, name: str, alias: str) -> str:
        version = self.versions.get(name)
        if version is None:
            raise LookupError(f"no version of {name!r} has the alias {alias!r} in the registry")
        return version

    def load(self, name: str, version: str) -> Any:
        if version in self.fail_versions:
            raise RuntimeError(f"corrupt artefact v{version}")
        self.loads.append((name, version))
        return FakeQuantileModel(offset=float(version))


class FakeFeatures:
    """Two known series; anything else is unknown."""

    name = "fake"
    origin = dt.date(2025, 1, 31)

    def __init__(self) -> None:
        self.series = {("SKU-1", "WH-1"), ("SKU-2", "WH-1")}
        self.built: dict[tuple[str, str, int], SeriesFeatures] = {}

    def forecast_features(self, item: str, warehouse: str, horizon: int) -> SeriesFeatures:
        if (item, warehouse) not in self.series:
            field = "item" if item not in {i for i, _ in self.series} else "warehouse"
            raise NotFoundError(f"unknown {field}", field=field)
        key = (item, warehouse, horizon)
        if key not in self.built:  # like the real source: the same rows object until the data changes
            dates = [self.origin + dt.timedelta(days=h) for h in range(1, horizon + 1)]
            self.built[key] = SeriesFeatures(
                pd.DataFrame({"horizon": list(range(1, horizon + 1))}), self.origin, dates
            )
        return self.built[key]

    def status(self) -> dict[str, Any]:
        return {"status": "ok", "source": self.name}


class NoDatabase:
    """The OLTP handle in unit tests: every use is an outage (routes answer 503)."""

    def engine(self) -> Any:
        raise ServiceUnavailableError("database unavailable: unit test", code="database_unavailable")

    def session(self) -> Any:
        return self.engine()

    def status(self) -> dict[str, Any]:
        return {"status": "unavailable", "reason": "unit test"}


def build_app(settings: Any, key_store: InMemoryKeyStore, loader: FakeLoader, **kwargs: Any) -> FastAPI:
    from serving.api.deps import get_db
    from serving.main import create_app

    kwargs.setdefault("feature_source", FakeFeatures())
    kwargs.setdefault("model_poll_interval_s", 0)
    app = create_app(settings, key_store=key_store, model_loader=loader, **kwargs)
    app.dependency_overrides[get_db] = NoDatabase
    return app


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
