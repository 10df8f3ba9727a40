"""Static checks of the dbt project: profiles from env vars only, one holiday calendar, env derivation."""

from __future__ import annotations

import csv
import re

import yaml

from stockyard.dbt import DBT_PROJECT_DIR, _pg_env, dbt_env
from stockyard.settings import Settings


def test_profiles_take_every_value_from_env_vars():
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    outputs = profiles["stockyard"]["outputs"]
    assert set(outputs) == {"duckdb", "postgres"}
    for key in ("host", "port", "user", "password", "dbname"):
        assert "env_var('DBT_SY_PG_" in str(outputs["postgres"][key]), key
    assert "env_var('DBT_SY_DUCKDB_PATH')" in outputs["duckdb"]["path"]


def test_profile_and_sources_read_no_settings_name():
    """``STOCKYARD_*`` names belong to Settings; the project reads only the derived ``DBT_SY_*`` variables."""
    texts = [DBT_PROJECT_DIR / "profiles.yml", *DBT_PROJECT_DIR.joinpath("models").rglob("*.yml")]
    read = {m for path in texts for m in re.findall(r"env_var\('([A-Z_]+)'", path.read_text())}
    assert read, "the profile reads environment variables"
    assert all(name.startswith("DBT_SY_") for name in read), sorted(read)
    env = dbt_env(Settings(home=DBT_PROJECT_DIR.parent / ".never-created"), target="duckdb")
    assert not [k for k in env if k.startswith("STOCKYARD_")]
    # Every variable the project reads without a default is set by dbt_env.
    required = {m for path in texts for m in re.findall(r"env_var\('([A-Z_]+)'\)", path.read_text())}
    assert required <= set(env), sorted(required - set(env))


def test_holiday_seed_matches_the_forecasting_calendar():
    from ml.forecasting.synthetic import HOLIDAYS

    with (DBT_PROJECT_DIR / "seeds" / "holidays.csv").open() as f:
        seeded = {(int(r["month"]), int(r["day"])) for r in csv.DictReader(f)}
    assert seeded == set(HOLIDAYS)


def test_dbt_env_derives_paths_and_connection(tmp_path):
    settings = Settings(home=tmp_path, pg_dsn="postgresql://u:p%40ss@db.example:6543/wh")
    env = dbt_env(settings, target="duckdb")
    assert env["DBT_SY_DUCKDB_PATH"] == str(tmp_path / "warehouse.duckdb")
    assert env["DBT_SY_LAKE_ROOT"] == str(tmp_path / "lake")
    assert env["DBT_SY_TARGET"] == "duckdb"
    assert env["DBT_TARGET_PATH"].startswith(str(tmp_path))
    assert _pg_env("postgresql://u:p%40ss@db.example:6543/wh") == {
        "DBT_SY_PG_HOST": "db.example",
        "DBT_SY_PG_PORT": "6543",
        "DBT_SY_PG_USER": "u",
        "DBT_SY_PG_PASSWORD": "p@ss",
        "DBT_SY_PG_DATABASE": "wh",
    }


def test_every_model_file_is_documented():
    models = DBT_PROJECT_DIR / "models"
    documented = set()
    for path in models.rglob("_*__models.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            assert model.get("description"), model["name"]
            assert all(c.get("description") for c in model.get("columns", [])), model["name"]
            documented.add(model["name"])
    sql_models = {p.stem for p in models.rglob("*.sql")}
    assert sql_models == documented
    # Only staging reads sources.
    for path in models.rglob("*.sql"):
        if "staging" not in path.parts:
            assert not re.search(r"\bsource\(", path.read_text()), path.name
