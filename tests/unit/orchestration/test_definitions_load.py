"""The code location loads: every job, schedule and sensor resolves and every asset key is ``[layer, name]``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.dbt.translator import LAYERS, StockyardDbtTranslator


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.Definitions]:
    from stockyard.settings import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("STOCKYARD_HOME", str(tmp_path_factory.mktemp("home")))
    mp.delenv("STOCKYARD_PG_DSN", raising=False)
    get_settings.cache_clear()
    try:
        from orchestration.runner import prepare

        prepare(get_settings())
        from orchestration.definitions import defs as loaded

        yield loaded
    finally:
        mp.undo()
        get_settings.cache_clear()


def test_every_job_schedule_and_sensor_resolves(defs: dg.Definitions) -> None:
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {
        "full_graph",
        "intraday_refresh",
        "nightly_replan",
        "replan",
        "weekly_slotting",
        "bronze_maintenance_job",
    } <= jobs
    for name in jobs:
        defs.resolve_job_def(name)
    assert defs.resolve_schedule_def("nightly_replan").job_name == "nightly_replan"
    assert defs.resolve_schedule_def("weekly_slotting").job_name == "weekly_slotting"
    assert defs.resolve_schedule_def("bronze_maintenance").job_name == "bronze_maintenance_job"
    for name in ("outbox_ingest", "record_run_failure", "replan_on_disruption"):
        defs.resolve_sensor_def(name)
    # The repository validates the whole graph (deps, checks, resources) when it is built.
    defs.get_repository_def()


def test_asset_keys_are_layer_and_name(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = list(graph.get_all_asset_keys())
    assert len(keys) > 50
    for key in keys:
        assert len(key.path) == 2, key
        assert key.path[0] in LAYERS, key
        assert "duckdb" not in key.to_user_string() and "postgres" not in key.to_user_string()
    layers = {key.path[0] for key in keys}
    assert {"bronze", "staging", "marts"} <= layers


def test_every_asset_is_materialisable_and_grouped(defs: dg.Definitions) -> None:
    """dbt sources resolve to the ingest assets: nothing in the graph is an external stub."""
    graph = defs.resolve_asset_graph()
    external = set(graph.get_all_asset_keys()) - set(graph.materializable_asset_keys)
    assert not external, (
        f"unmaterialisable (dangling dbt sources?): {sorted(k.to_user_string() for k in external)}"
    )
    for key in graph.materializable_asset_keys:
        assert graph.get(key).group_name not in (None, "default"), key


def test_marts_hang_off_bronze_and_blocking_checks_guard_them(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    order_lines = dg.AssetKey(["marts", "fct_order_lines"])
    upstream = graph.get(order_lines).parent_keys
    assert upstream, "fct_order_lines has no parents"
    ancestors = dg.AssetSelection.assets(order_lines).upstream().resolve(graph)
    assert dg.AssetKey(["bronze", "oltp__order_lines"]) in ancestors
    check = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey(["bronze", "oltp__order_lines"]), "gx_order_lines")
    )
    assert check.blocking
    gold = dg.AssetKey(["marts", "gold_parquet"])
    assert order_lines in graph.get(gold).parent_keys


def test_dbt_tests_are_asset_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    staging_checks = [k for k in graph.asset_check_keys if k.asset_key.path[0] in ("staging", "marts")]
    assert staging_checks


def _props(fqn: list[str], resource_type: str = "model", **extra: object) -> dict[str, object]:
    return {
        "fqn": fqn,
        "resource_type": resource_type,
        "name": fqn[-1],
        "unique_id": f"{resource_type}.x",
        **extra,
    }


@pytest.mark.parametrize(
    ("fqn", "key", "group"),
    [
        (["stockyard", "marts", "orders", "fct_orders"], ["marts", "fct_orders"], "orders"),
        (["stockyard", "intermediate", "inventory", "int_x"], ["intermediate", "int_x"], "inventory"),
        (["stockyard", "staging", "oltp", "stg_oltp__orders"], ["staging", "stg_oltp__orders"], "oltp"),
        (["stockyard", "marts", "dim_date"], ["marts", "dim_date"], "marts"),
    ],
)
def test_translator_derives_key_and_group_from_fqn(fqn: list[str], key: list[str], group: str) -> None:
    translator = StockyardDbtTranslator()
    props = _props(fqn)
    assert translator._key(props) == dg.AssetKey(key)
    assert translator._group(props) == group


def test_translator_maps_sources_to_bronze_and_honours_meta_group() -> None:
    translator = StockyardDbtTranslator()
    source = {"resource_type": "source", "source_name": "oltp", "name": "orders", "fqn": ["stockyard", "x"]}
    assert translator._key(source) == dg.AssetKey(["bronze", "oltp__orders"])
    assert translator._group(source) == "oltp"
    meta = _props(["stockyard", "marts", "orders", "fct_x"], config={"meta": {"dagster": {"group": "sop"}}})
    assert translator._group(meta) == "sop"


def test_translator_rejects_models_outside_layer_folders() -> None:
    with pytest.raises(ValueError, match="outside the layer folders"):
        StockyardDbtTranslator()._key(_props(["stockyard", "adhoc", "thing"]))


def test_invalid_selection_is_a_user_error(defs: dg.Definitions) -> None:
    from orchestration.runner import resolve_selection
    from stockyard.errors import ValidationError

    with pytest.raises(ValidationError):
        resolve_selection(defs, "key:no/such_asset")
    assert dg.AssetKey(["bronze", "oltp__orders"]) in resolve_selection(defs, "key:bronze/oltp__orders")


def test_storage_is_sqlite_by_default_and_postgres_with_a_dsn(tmp_path: Path) -> None:
    import yaml

    from orchestration.instance import STORAGE_URL_ENV, dagster_env, storage_url, write_dagster_yaml
    from stockyard.settings import Settings

    sqlite = Settings(home=tmp_path / "a")
    config = yaml.safe_load((write_dagster_yaml(sqlite) / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False}
    assert "sqlite" in config["storage"]
    assert storage_url(sqlite) is None
    pg = Settings(home=tmp_path / "b", pg_dsn="postgresql://u:secret@db.example:5433/stock")
    url = storage_url(pg)
    assert url is not None and url.startswith("postgresql://u:secret@db.example:5433/stock?")
    assert "search_path%3Ddagster" in url
    assert STORAGE_URL_ENV not in dagster_env(sqlite)


def test_module_exposes_exactly_one_definitions_object(defs: dg.Definitions) -> None:
    """``dagster dev -m orchestration.definitions`` refuses a module with several Definitions at module scope."""
    import orchestration.definitions as module

    found = [name for name, value in vars(module).items() if isinstance(value, dg.Definitions)]
    assert found == ["defs"]


def test_nightly_replan_covers_forecast_to_plans_and_slotting_is_weekly(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    nightly = set(defs.resolve_job_def("nightly_replan").asset_layer.executable_asset_keys)
    forecast = dg.AssetKey(["marts", "fct_demand_forecast"])
    plans = [
        dg.AssetKey(["marts", n]) for n in ("fct_replenishment_plan", "mart_sop_plan", "mart_sop_scenarios")
    ]
    assert {forecast, dg.AssetKey(["ml", "demand_forecast_model"]), *plans} <= nightly
    slotting = dg.AssetKey(["marts", "fct_slotting_plan"])
    assert slotting not in nightly
    assert set(defs.resolve_job_def("weekly_slotting").asset_layer.executable_asset_keys) == {slotting}
    # Replenishment and S&OP are planned on the forecast: it is upstream of both.
    for plan in plans:
        assert forecast in dg.AssetSelection.assets(plan).upstream().resolve(graph)


def test_replan_job_refreshes_marts_but_does_not_retrain(defs: dg.Definitions) -> None:
    keys = set(defs.resolve_job_def("replan").asset_layer.executable_asset_keys)
    assert dg.AssetKey(["marts", "fct_replenishment_plan"]) in keys
    assert dg.AssetKey(["marts", "mart_sop_plan"]) in keys
    assert dg.AssetKey(["marts", "gold_parquet"]) in keys
    assert dg.AssetKey(["bronze", "oltp__orders"]) in keys
    assert not {k for k in keys if k.path[0] in ("ml", "features")}
    assert dg.AssetKey(["marts", "fct_demand_forecast"]) not in keys


def test_forecast_and_plans_have_blocking_gates(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for asset, check in (
        (["marts", "fct_demand_forecast"], "quantiles_valid"),
        (["marts", "fct_replenishment_plan"], "within_supplier_capacity"),
        (["marts", "mart_sop_plan"], "within_warehouse_capacity"),
    ):
        assert graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(asset), check)).blocking


def test_weekly_slotting_schedule_requests_its_job(defs: dg.Definitions) -> None:
    import datetime as dt

    schedule = defs.resolve_schedule_def("weekly_slotting")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 4, 4, tzinfo=dt.UTC))
    result = schedule.evaluate_tick(context)
    assert result.run_requests and len(result.run_requests) == 1
    assert schedule.cron_schedule == "0 4 * * 0"


def test_alerts_run_nightly_after_the_forecast_eta_and_gold(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    alerts = dg.AssetKey(["marts", "fct_alerts"])
    history = dg.AssetKey(["marts", "fct_demand_forecast_history"])
    assert graph.get(alerts).group_name == graph.get(history).group_name == "alerts"
    upstream = dg.AssetSelection.assets(alerts).upstream().resolve(graph)
    for name in ("fct_demand_forecast_history", "fct_demand_forecast", "fct_shipment_eta", "gold_parquet"):
        assert dg.AssetKey(["marts", name]) in upstream, name
    assert {alerts, history} <= set(defs.resolve_job_def("nightly_replan").asset_layer.executable_asset_keys)
    assert alerts not in set(defs.resolve_job_def("intraday_refresh").asset_layer.executable_asset_keys)


REPAIRED = ["events", "inventory_ledger", "tracking_events", "order_status_history"]


def test_daily_repair_assets_are_partitioned_single_run_backfills(defs: dg.Definitions) -> None:
    from orchestration.defs.ingest.backfill import DAILY_PARTITIONS, REPAIR_GROUP

    graph = defs.resolve_asset_graph()
    partitioned = {k for k in graph.materializable_asset_keys if graph.get(k).partitions_def is not None}
    assert partitioned == {dg.AssetKey(["bronze", f"oltp__{t}__daily"]) for t in REPAIRED}
    for key in partitioned:
        node = graph.get(key)
        assert node.partitions_def == DAILY_PARTITIONS and node.group_name == REPAIR_GROUP
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    # Partition keys are UTC days from the fixed start; the last one is the last complete day.
    keys = DAILY_PARTITIONS.get_partition_keys(current_time=dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
    assert keys[0] == "2024-01-01" and keys[-1] == "2026-03-04"
    job = defs.resolve_job_def("bronze_day_repair")
    assert set(job.asset_layer.executable_asset_keys) == partitioned
    assert job.partitions_def == DAILY_PARTITIONS


def test_unpartitioned_jobs_and_a_plain_run_leave_the_repairs_out(defs: dg.Definitions) -> None:
    from orchestration.runner import resolve_selection

    graph = defs.resolve_asset_graph()
    repairs = {dg.AssetKey(["bronze", f"oltp__{t}__daily"]) for t in REPAIRED}
    for name in ("full_graph", "nightly_replan", "intraday_refresh", "replan"):
        executable = set(defs.resolve_job_def(name).asset_layer.executable_asset_keys)
        assert executable and not executable & repairs, name
    everything = resolve_selection(defs, None)
    assert not set(everything) & repairs
    assert len(everything) == len(graph.materializable_asset_keys) - len(repairs)
    assert set(resolve_selection(defs, "group:bronze_repair")) == repairs


def test_partition_range_of_a_run_is_validated(defs: dg.Definitions) -> None:
    from orchestration.runner import _partition_tags
    from stockyard.errors import ValidationError

    repairs = [dg.AssetKey(["bronze", "oltp__events__daily"])]
    tags = _partition_tags(defs, repairs, ("2024-02-01", "2024-03-01"))
    assert tags == {
        "dagster/asset_partition_range_start": "2024-02-01",
        "dagster/asset_partition_range_end": "2024-03-01",
    }
    assert _partition_tags(defs, repairs)["dagster/asset_partition_range_start"] == "2024-01-01"
    with pytest.raises(ValidationError, match="reversed"):
        _partition_tags(defs, repairs, ("2024-03-01", "2024-02-01"))
    with pytest.raises(ValidationError, match="unknown partition"):
        _partition_tags(defs, repairs, ("2023-12-31", "2024-02-01"))
    with pytest.raises(ValidationError, match="no selected asset is partitioned"):
        _partition_tags(defs, [dg.AssetKey(["bronze", "oltp__orders"])], ("2024-02-01", "2024-02-02"))
