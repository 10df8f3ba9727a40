"""A column added in the OLTP appears in bronze; an incompatible type change stops only that table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import psycopg
import pytest
from typer.testing import CliRunner

from ingest.load_delta import IncompatibleSchemaError
from ingest.run import ingest_table, run_ingest
from integration.ingest.ingest_helpers import settings_for

TABLES = ["oltp__items", "oltp__customers", "oltp__orders"]


def test_added_column_flows_to_bronze(seeded: str, lake: Path) -> None:
    assert run_ingest(settings_for(seeded, lake), tables=TABLES, feeds=False).ok
    with psycopg.connect(seeded) as conn:
        conn.execute("alter table items add column colour text")
        conn.execute("update items set colour = 'red' where code = 'I1'")
    report = run_ingest(settings_for(seeded, lake), tables=TABLES, feeds=False)
    assert report.ok, report.failed
    items = pl.read_delta(str(lake / "bronze" / "oltp__items"))
    assert items.filter(pl.col("code") == "I1")["colour"].to_list() == ["red"]
    assert items.filter(pl.col("code") == "I2")["colour"].to_list() == [None]


def test_incompatible_type_change_fails_that_table_only(
    seeded: str, lake: Path, stockyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, lake)
    assert run_ingest(settings, tables=TABLES, feeds=False).ok
    with psycopg.connect(seeded) as conn:
        conn.execute("alter table customers alter column region type integer using null")
        conn.execute("update items set name = 'renamed' where code = 'I3'")
    with pytest.raises(IncompatibleSchemaError) as err:
        ingest_table("customers", uri=seeded, lake_root=lake)
    assert err.value.table == "oltp__customers" and err.value.column == "region"
    assert "string" in err.value.message and "int32" in err.value.message

    report = run_ingest(settings, tables=TABLES, feeds=False)
    status = {r.table: r.status for r in report.results}
    assert status == {"oltp__items": "ok", "oltp__customers": "failed", "oltp__orders": "unchanged"}
    assert "oltp__customers.region" in report.failed[0].error
    items = pl.read_delta(str(lake / "bronze" / "oltp__items"))
    assert items.filter(pl.col("code") == "I3")["name"].to_list() == ["renamed"]

    # the CLI reports the failure and exits non-zero (stockyard_home points at this test's database)
    from stockyard.cli import app
    from stockyard.settings import get_settings

    monkeypatch.setenv("STOCKYARD_LAKE_ROOT", str(lake))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest", "--table", "customers", "--table", "items", "--no-feeds"])
    assert result.exit_code == 1
    assert "failed" in result.output
