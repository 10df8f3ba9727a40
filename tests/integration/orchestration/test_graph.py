"""The whole graph on a small simulated history: materialisation, metadata, sensors, schedules, blocking checks and
``stockyard run`` exit codes. Tests run in file order; the ones that break data run last and restore it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import psycopg
import pytest
from typer.testing import CliRunner

ORDER_LINES = dg.AssetKey(["bronze", "oltp__order_lines"])


def _metadata(orchestrated: Any, key: dg.AssetKey) -> dict[str, Any]:
    from orchestration.instance import dagster_instance

    with dagster_instance(orchestrated.settings) as instance:
        event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None, key
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


def test_whole_graph_materialises(orchestrated: Any) -> None:
    report = orchestrated.report
    assert report.success, report.summary()
    graph = orchestrated.defs.resolve_asset_graph()
    # The daily bronze repairs run by day only (test_backfill.py); everything else is in the whole-graph run.
    expected = {
        k.to_user_string() for k in graph.materializable_asset_keys if graph.get(k).partitions_def is None
    }
    repairs = {k.to_user_string() for k in graph.materializable_asset_keys} - expected
    assert repairs and all(key.endswith("__daily") for key in repairs), repairs
    assert set(report.materialized) == expected, report.not_materialized
    assert not [c for c in report.failed_checks if c.blocking], report.failed_checks
    gold = orchestrated.settings.gold_dir
    for mart in ("fct_order_lines", "fct_demand_daily", "fct_inventory_daily", "fct_shipments"):
        assert (gold / f"{mart}.parquet").exists(), mart
    metadata = _metadata(orchestrated, dg.AssetKey(["marts", "gold_parquet"]))
    assert "data:image/png;base64," in metadata["demand_plot"]
    assert metadata["demand_preview"].startswith("| date |")
    features = _metadata(orchestrated, dg.AssetKey(["features", "item_warehouse_91d_stats"]))
    assert features["dagster/row_count"] > 0


def test_run_is_recorded_on_the_home_storage_with_metadata(orchestrated: Any) -> None:
    from orchestration.instance import dagster_instance

    with dagster_instance(orchestrated.settings) as instance:
        run = instance.get_run_by_id(orchestrated.report.run_id)
        assert run is not None
        assert run.is_success == orchestrated.report.success
    bronze = _metadata(orchestrated, dg.AssetKey(["bronze", "oltp__orders"]))
    assert bronze["dagster/row_count"] > 0 and bronze["rows_written"] > 0
    mart = _metadata(orchestrated, dg.AssetKey(["marts", "fct_order_lines"]))
    assert mart["dagster/row_count"] > 0


def test_nightly_schedule_requests_the_whole_graph_but_slotting(orchestrated: Any) -> None:
    schedule = orchestrated.defs.resolve_schedule_def("nightly_replan")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 2, 2, tzinfo=dt.UTC))
    requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    job = orchestrated.defs.resolve_job_def(schedule.job_name)
    # Re-slotting moves stock physically, so it runs on its own weekly schedule, not nightly.
    slotting = dg.AssetKey(["marts", "fct_slotting_plan"])
    graph = orchestrated.defs.resolve_asset_graph()
    everything = {k for k in graph.materializable_asset_keys if graph.get(k).partitions_def is None}
    assert set(job.asset_layer.executable_asset_keys) == everything - {slotting}


def _sensor(orchestrated: Any, cursor: str | None = None) -> Any:
    from orchestration.resources import StockyardResource

    sensor = orchestrated.defs.resolve_sensor_def("outbox_ingest")
    context = dg.build_sensor_context(
        cursor=cursor,
        definitions=orchestrated.defs,
        resources={"stockyard": StockyardResource()},
    )
    return sensor.evaluate_tick(context)


def test_outbox_sensor_triggers_on_pending_events_only(orchestrated: Any) -> None:
    from orchestration.defs.ingest.sensors import PENDING_THRESHOLD

    idle = _sensor(orchestrated)
    assert not idle.run_requests  # everything was just ingested

    with psycopg.connect(orchestrated.pg_uri, autocommit=True) as conn:
        conn.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at) "
            "select 'inventory', g::text, 'inventory.adjusted', '{}'::jsonb, now() from generate_series(1, %s) g",
            (PENDING_THRESHOLD - 1,),
        )
    below = _sensor(orchestrated)
    assert not below.run_requests, "below both thresholds: no run"

    with psycopg.connect(orchestrated.pg_uri, autocommit=True) as conn:
        conn.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at) "
            "values ('inventory', 'x', 'inventory.adjusted', '{}'::jsonb, now())"
        )
    tick = _sensor(orchestrated)
    assert len(tick.run_requests) == 1
    keys = {k.to_user_string() for k in tick.run_requests[0].asset_selection}
    assert {
        "bronze/oltp__events",
        "bronze/oltp__inventory_ledger",
        "staging/stg_oltp__inventory_ledger",
    } <= keys
    assert "bronze/oltp__shipments" not in keys, "only the tables the aggregate touches are re-ingested"
    assert all(k.split("/")[0] in ("bronze", "staging", "intermediate", "marts") for k in keys)
    again = _sensor(orchestrated, cursor=tick.cursor)
    assert not again.run_requests, "the same events never trigger twice"


def test_outbox_sensor_triggers_on_an_old_event(orchestrated: Any) -> None:
    cursor = _sensor(orchestrated).cursor or "0"
    with psycopg.connect(orchestrated.pg_uri, autocommit=True) as conn:
        (largest,) = conn.execute("select max(id) from events").fetchone()
        conn.execute(
            "insert into events (aggregate_type, aggregate_id, event_type, payload, occurred_at, recorded_at) "
            "values ('shipment', 's1', 'shipment.shipped', '{}'::jsonb, now(), now() - interval '1 hour')"
        )
    tick = _sensor(orchestrated, cursor=str(largest))
    assert len(tick.run_requests) == 1
    assert int(tick.cursor) > int(largest) >= int(cursor)


def test_stockyard_run_exit_codes(orchestrated: Any) -> None:
    from stockyard.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["run", "--select", "key:bronze/oltp__orders"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["run", "--select", "key:no/such_asset"])
    assert bad.exit_code == 2
    assert "matches no asset" in bad.output


@pytest.fixture
def broken_order_line(orchestrated: Any) -> Any:
    """One order line with a negative quantity in the OLTP (constraint dropped), restored afterwards."""
    with psycopg.connect(orchestrated.pg_uri, autocommit=True) as conn:
        (line_id, quantity) = conn.execute(
            "select id, quantity_ordered from order_lines order by id limit 1"
        ).fetchone()
        conn.execute("alter table order_lines drop constraint ck_order_lines_ordered_positive")
        conn.execute("alter table order_lines drop constraint ck_order_lines_shipped_le_ordered")
        conn.execute("update order_lines set quantity_ordered = -5 where id = %s", (line_id,))
    yield line_id
    from ingest.run import ingest_table

    with psycopg.connect(orchestrated.pg_uri, autocommit=True) as conn:
        conn.execute("update order_lines set quantity_ordered = %s where id = %s", (quantity, line_id))
        conn.execute(
            "alter table order_lines add constraint ck_order_lines_ordered_positive check (quantity_ordered > 0)"
        )
        conn.execute(
            "alter table order_lines add constraint ck_order_lines_shipped_le_ordered "
            "check (quantity_shipped <= quantity_ordered)"
        )
    ingest_table("oltp__order_lines", orchestrated.settings)


def test_bad_bronze_row_blocks_downstream_and_is_alerted(orchestrated: Any, broken_order_line: int) -> None:
    from orchestration.alerts import read_alerts
    from orchestration.instance import dagster_instance
    from orchestration.resources import StockyardResource
    from orchestration.runner import run_graph

    marts_before = _metadata(orchestrated, dg.AssetKey(["marts", "fct_order_lines"]))
    report = run_graph(
        "key:bronze/oltp__order_lines+", settings=orchestrated.settings, defs=orchestrated.defs
    )

    assert not report.success
    assert "bronze/oltp__order_lines" in report.materialized  # the bad row did land in bronze...
    assert "staging/stg_oltp__order_lines" not in report.materialized  # ...and nothing was built on it
    assert "marts/fct_order_lines" not in report.materialized
    failed = {(c.asset, c.check): c for c in report.failed_checks}
    check = failed[("bronze/oltp__order_lines", "gx_order_lines")]
    assert check.blocking and "quantity_ordered" in check.description
    assert "gx_order_lines" in report.summary()
    assert _metadata(orchestrated, dg.AssetKey(["marts", "fct_order_lines"])) == marts_before

    with dagster_instance(orchestrated.settings) as instance:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(ORDER_LINES, "gx_order_lines")]
        )[dg.AssetCheckKey(ORDER_LINES, "gx_order_lines")]
        evaluation = record.event.dagster_event.asset_check_evaluation_data
        sample = evaluation.metadata["failing_rows_sample"].value
        assert f"| {broken_order_line} |" in sample and "-5" in sample

        # The run-failure sensor turns the failed run into an alert line.
        run = instance.get_run_by_id(report.run_id)
        failure = instance.all_logs(report.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1].dagster_event
        sensor = orchestrated.defs.resolve_sensor_def("record_run_failure")
        context = dg.build_run_status_sensor_context(
            sensor_name="record_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
            resources={"stockyard": StockyardResource()},
        ).for_run_failure()
        sensor(context)
    alerts = [a for a in read_alerts(orchestrated.settings) if a["run_id"] == report.run_id]
    assert len(alerts) == 1 and alerts[0]["kind"] == "run_failure"
    assert any("gx_order_lines" in step for step in alerts[0]["failed_steps"])


def test_stockyard_run_exits_non_zero_naming_the_blocking_check(
    orchestrated: Any, broken_order_line: int
) -> None:
    from stockyard.cli import app

    result = CliRunner().invoke(app, ["run", "--select", "key:bronze/oltp__order_lines"])
    assert result.exit_code == 1, result.output
    assert "blocking check bronze/oltp__order_lines:gx_order_lines" in " ".join(result.output.split())
