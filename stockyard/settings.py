"""The one settings object of Stockyard.

Every value comes from an environment variable with the ``STOCKYARD_`` prefix (or a ``.env`` file) and, unless
overridden, derives from ``STOCKYARD_HOME``. Read it through :func:`get_settings`; nothing is built at import time
so tests can point ``STOCKYARD_HOME`` at a temporary directory and call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

_PLACEHOLDER_SECRETS = {"changethis", "changeme", "secret", ""}


class Settings(BaseSettings):
    """Stockyard configuration; see the README's table of environment variables."""

    model_config = SettingsConfigDict(env_prefix="STOCKYARD_", env_file=".env", extra="ignore")

    env: Literal["local", "ci", "staging", "production"] = "local"
    home: Path = Field(default=Path(".stockyard"), description="Root of all local state.")

    # PostgreSQL: unset -> the embedded server under <home>/pg.
    pg_dsn: SecretStr | None = Field(default=None, description="External PostgreSQL URI (postgresql://...).")
    pg_port: int = Field(
        default=54329,
        description="TCP port of the embedded PostgreSQL on 127.0.0.1 (0 or taken: a free one).",
    )
    pg_database: str = "stockyard"

    # Lakehouse and warehouse.
    lake_root: Path | None = None
    duckdb_path: Path | None = None
    dbt_target: Literal["duckdb", "postgres"] = "duckdb"
    delta_retention_hours: int = Field(default=168, description="Vacuum retention for Delta tables.")

    # ML.
    mlflow_tracking_uri: str | None = None
    feast_repo: Path | None = None
    feast_online_store: Literal["sqlite", "postgres"] = Field(
        default="sqlite", description="Feast online store: SQLite under the home, or the PostgreSQL server."
    )

    # Serving.
    api_rate_limit_per_minute: int = 6000
    bi_password: SecretStr = SecretStr("stockyard_bi")

    @model_validator(mode="after")
    def _derive_and_guard(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if self.lake_root is None:
            self.lake_root = self.home / "lake"
        if self.duckdb_path is None:
            self.duckdb_path = self.home / "warehouse.duckdb"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"
        if self.feast_repo is None:
            self.feast_repo = Path(__file__).resolve().parent.parent / "feature_repo"
        # Same guard as the FastAPI template: placeholder secrets only on a developer machine.
        if self.env not in ("local", "ci") and self.bi_password.get_secret_value() in _PLACEHOLDER_SECRETS | {
            "stockyard_bi"
        }:
            raise ValueError("STOCKYARD_BI_PASSWORD must be set to a real secret outside local/ci")
        return self

    @property
    def embedded_pg(self) -> bool:
        """True when Stockyard runs its own PostgreSQL under the home directory."""
        return self.pg_dsn is None

    @property
    def pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def bronze_dir(self) -> Path:
        assert self.lake_root is not None
        return self.lake_root / "bronze"

    @property
    def silver_dir(self) -> Path:
        assert self.lake_root is not None
        return self.lake_root / "silver"

    @property
    def gold_dir(self) -> Path:
        assert self.lake_root is not None
        return self.lake_root / "gold"

    @property
    def quarantine_dir(self) -> Path:
        assert self.lake_root is not None
        return self.lake_root / "quarantine"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.home / "mlflow" / "artifacts"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
