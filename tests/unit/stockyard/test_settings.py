from pathlib import Path

import pytest

from stockyard.settings import Settings


def test_everything_derives_from_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "h")
    assert s.lake_root == (tmp_path / "h" / "lake").resolve()
    assert s.duckdb_path == (tmp_path / "h" / "warehouse.duckdb").resolve()
    assert s.pg_dir == (tmp_path / "h" / "pg").resolve()
    assert s.mlflow_tracking_uri is not None and str(tmp_path) in s.mlflow_tracking_uri
    assert s.embedded_pg


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOCKYARD_HOME", str(tmp_path))
    monkeypatch.setenv("STOCKYARD_PG_DSN", "postgresql://u:p@db:5432/x")
    monkeypatch.setenv("STOCKYARD_DBT_TARGET", "postgres")
    s = Settings()
    assert s.home == tmp_path.resolve()
    assert not s.embedded_pg
    assert s.dbt_target == "postgres"


def test_placeholder_secret_refused_outside_local() -> None:
    with pytest.raises(ValueError, match="STOCKYARD_BI_PASSWORD"):
        Settings(env="production")
    assert Settings(env="production", bi_password="a-real-secret").env == "production"
