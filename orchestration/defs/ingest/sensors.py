"""``outbox_ingest``: intra-day refresh when the OLTP outbox holds enough (or old enough) un-ingested events.

"Un-ingested" is exact, not a guess: the bronze ``oltp__events`` table carries ingest's watermark (a transaction
horizon) in its Delta log, and every outbox row whose ``txid`` is at or above it is not in bronze yet. The sensor's
cursor is the largest event id it has already requested a run for, so one burst of events triggers one run.

The run ingests the bronze tables the pending events' aggregates touch and rebuilds what is downstream of them, up
to the marts (features, models and plans wait for the nightly replan).
"""

import datetime as dt

import dagster as dg
from dagster import SensorEvaluationContext

from ingest.tables import registry
from orchestration.defs.automation.jobs import intraday_refresh_job, intraday_selection
from orchestration.defs.dbt.translator import bronze_key
from orchestration.resources import StockyardResource
from stockyard.settings import Settings

__all__ = ["AFFECTED_TABLES", "MAX_EVENT_AGE", "PENDING_THRESHOLD", "outbox_ingest", "pending_events"]

#: Pending events that trigger a refresh on their own.
PENDING_THRESHOLD = 500
#: Age of the oldest pending event that triggers a refresh however few are pending.
MAX_EVENT_AGE = dt.timedelta(minutes=15)

#: OLTP tables each outbox aggregate type writes; events of an unknown aggregate refresh every table.
AFFECTED_TABLES: dict[str, tuple[str, ...]] = {
    "order": ("orders", "order_lines", "order_status_history", "reservations", "inventory_balances"),
    "wave": ("pick_waves", "pick_tasks", "reservations", "order_lines", "orders"),
    "pick": ("pick_tasks", "reservations", "order_lines", "inventory_balances", "inventory_ledger"),
    "inventory": ("inventory_balances", "inventory_ledger", "lots"),
    "purchase_order": (
        "purchase_orders", "purchase_order_lines", "receipts", "receipt_lines", "inventory_balances",
        "inventory_ledger", "lots",
    ),
    "return": ("returns", "return_lines", "inventory_balances", "inventory_ledger"),
    "shipment": (
        "shipments", "shipment_lines", "tracking_events", "packages", "freight_charges", "orders", "order_lines",
        "inventory_balances", "inventory_ledger",
    ),
    "transfer": ("transfers", "transfer_lines", "inventory_balances", "inventory_ledger"),
}  # fmt: skip


def pending_events(settings: Settings, after_id: int = 0) -> tuple[int, dt.datetime | None, int, list[str]]:
    """Outbox events not yet in bronze (and above ``after_id``).

    Args:
        settings: Settings (OLTP URI, lake root).
        after_id: Ignore events up to this id (already requested).

    Returns:
        ``(count, oldest recorded_at, largest id, aggregate types)``; ``(0, None, after_id, [])`` when none.
    """
    import psycopg

    from ingest.load_delta import table_uri
    from ingest.state import read_watermark
    from stockyard.pg import ensure_postgres

    watermark = read_watermark(table_uri(str(settings.lake_root), "oltp__events"))
    horizon = watermark.xid if watermark else 0
    with psycopg.connect(ensure_postgres(settings)) as conn:
        count, oldest, largest, aggregates = conn.execute(
            "select count(*), min(recorded_at), max(id), coalesce(array_agg(distinct aggregate_type), '{}') "
            "from events where txid >= %s and id > %s",
            (horizon, after_id),
        ).fetchone()
    return int(count), oldest, int(largest or after_id), sorted(aggregates)


def _affected_bronze(aggregates: list[str]) -> list[dg.AssetKey]:
    oltp = {t.name for t in registry().values() if t.source == "oltp"}
    tables = {"events"}
    for aggregate in aggregates:
        tables.update(AFFECTED_TABLES.get(aggregate, tuple(oltp)))
    return sorted(bronze_key("oltp", t) for t in tables & oltp)


@dg.sensor(
    name="outbox_ingest",
    job=intraday_refresh_job,
    minimum_interval_seconds=60,
    description=(
        f"Incremental ingest + downstream marts when ≥{PENDING_THRESHOLD} outbox events are pending or the oldest "
        f"pending event is older than {MAX_EVENT_AGE}."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def outbox_ingest(context: SensorEvaluationContext, stockyard: StockyardResource) -> dg.SensorResult:
    """Request an intra-day refresh of the tables touched by pending outbox events."""
    after = int(context.cursor or 0)
    count, oldest, largest, aggregates = pending_events(stockyard.settings(), after)
    if count == 0:
        return dg.SensorResult(skip_reason="no pending outbox events")
    age = dt.datetime.now(dt.UTC) - oldest if oldest else dt.timedelta(0)
    if count < PENDING_THRESHOLD and age < MAX_EVENT_AGE:
        return dg.SensorResult(
            skip_reason=f"{count} pending event(s), oldest {age} old: below the thresholds"
        )
    selection = dg.AssetSelection.assets(*_affected_bronze(aggregates)).downstream() & intraday_selection()
    keys = sorted(selection.resolve(context.repository_def.asset_graph))
    request = dg.RunRequest(
        run_key=f"outbox-{largest}",
        asset_selection=keys,
        tags={"stockyard/trigger": "outbox", "stockyard/pending_events": str(count)},
    )
    return dg.SensorResult(run_requests=[request], cursor=str(largest))
