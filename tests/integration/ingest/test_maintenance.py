"""Maintenance (compaction, checkpoint, vacuum with a retention) keeps every row and every watermark, so the
exactly-once ingest carries on after it; `stockyard ingest --maintain` and the Dagster job run the same code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import psycopg
import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from ingest.maintenance import maintain
from ingest.run import run_ingest
from ingest.state import read_watermark
from integration.ingest.ingest_helpers import CORE, add_orders, assert_reconciled, settings_for

#: Append-only tables the runs below write to: every incremental run adds at least one file to each.
APPEND = ["oltp__events", "oltp__inventory_ledger"]


def _files_on_disk(table: Path) -> set[str]:
    return {str(p.relative_to(table)) for p in table.rglob("*.parquet") if "_delta_log" not in p.parts}


def _referenced(table: Path) -> set[str]:
    return set(DeltaTable(str(table)).get_add_actions(flatten=True).column("path").to_pylist())


def _content(table: Path) -> pl.DataFrame:
    return pl.read_delta(str(table)).sort("id")


def _ingest_in_runs(uri: str, settings, runs: int) -> None:  # noqa: ANN001
    for _ in range(runs):
        add_orders(uri, 2)
        report = run_ingest(settings, tables=CORE, feeds=False)
        assert report.ok, report.failed


def test_maintenance_compacts_checkpoints_and_vacuums_keeping_rows_and_watermarks(
    seeded: str, lake: Path
) -> None:
    settings = settings_for(seeded, lake)
    _ingest_in_runs(seeded, settings, 4)
    bronze = lake / "bronze"
    before = {
        t: (_content(bronze / t), read_watermark(str(bronze / t)), _referenced(bronze / t)) for t in CORE
    }
    assert all(len(before[t][2]) >= 4 for t in APPEND)

    # Default retention (a week): compacted, but the replaced files stay on disk for time travel.
    results = {r.table: r for r in maintain(settings)}
    assert {results[t].layer for t in CORE} == {"bronze"}
    for t in CORE:
        path = bronze / t
        content = _content(path)
        assert content.equals(before[t][0]), t
        assert read_watermark(str(path)) == before[t][1], t
        partitions = content["_partition_month"].n_unique() if "_partition_month" in content.columns else 1
        assert len(_referenced(path)) <= partitions, t
        assert results[t].vacuumed_files == 0
        assert before[t][2] <= _files_on_disk(path), t
        assert list((path / "_delta_log").glob("*.checkpoint.parquet")), t
    for t in APPEND:
        assert results[t].files_removed == len(before[t][2]) and results[t].files_added >= 1
    events = DeltaTable(str(bronze / "oltp__events"))
    assert DeltaTable(
        str(bronze / "oltp__events"), version=events.version() - 1
    ).to_pyarrow_table().num_rows == (before["oltp__events"][0].height)

    # Retention 0: the replaced files are deleted; what is left on disk is exactly what the tables reference.
    swept = maintain(settings.model_copy(update={"delta_retention_hours": 0}))
    assert sum(r.vacuumed_files for r in swept) >= sum(len(before[t][2]) for t in APPEND)
    for t in CORE:
        assert _files_on_disk(bronze / t) == _referenced(bronze / t), t
        assert _content(bronze / t).equals(before[t][0]), t

    # Exactly once carries on after maintenance: new, updated and deleted rows land once.
    add_orders(seeded, 3)
    with psycopg.connect(seeded) as conn:
        conn.execute(
            "update order_lines set quantity_cancelled = 1 where id = (select min(id) from order_lines)"
        )
        conn.execute("delete from order_lines where id = (select max(id) from order_lines)")
    assert run_ingest(settings, tables=CORE, feeds=False).ok
    assert_reconciled(seeded, lake, CORE)
    assert _content(bronze / "oltp__order_lines").filter(pl.col("id").is_duplicated()).height == 0


def test_cli_and_dagster_job_run_maintenance(
    seeded: str, lake: Path, stockyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.defs.ingest.maintenance import bronze_maintenance_job
    from orchestration.resources import StockyardResource
    from stockyard.cli import app
    from stockyard.settings import get_settings

    settings = settings_for(seeded, lake)
    _ingest_in_runs(seeded, settings, 3)
    events = lake / "bronze" / "oltp__events"
    assert len(_referenced(events)) >= 3

    monkeypatch.setenv("STOCKYARD_LAKE_ROOT", str(lake))
    monkeypatch.setenv("STOCKYARD_DELTA_RETENTION_HOURS", "0")
    get_settings.cache_clear()
    add_orders(seeded, 1)
    result = CliRunner().invoke(app, ["ingest", "--no-feeds", "--maintain"])
    assert result.exit_code == 0, result.output
    assert "bronze/oltp__events" in result.output and "vacuumed" in result.output
    assert len(_referenced(events)) == 1 and _files_on_disk(events) == _referenced(events)
    assert_reconciled(seeded, lake, CORE)

    _ingest_in_runs(seeded, settings, 2)
    run = bronze_maintenance_job.execute_in_process(resources={"stockyard": StockyardResource()})
    assert run.success
    observations = [e.asset_observation_data.asset_observation for e in run.get_asset_observation_events()]
    observed = {o.asset_key.path[-1]: o for o in observations}
    assert set(CORE) <= set(observed)
    # the file the CLI's compaction wrote and the two the runs since added, binned into one
    assert observed["oltp__events"].metadata["files_removed"].value == 3
    assert observed["oltp__events"].metadata["retention_hours"].value == 0
    assert len(_referenced(events)) == 1 and _files_on_disk(events) == _referenced(events)
