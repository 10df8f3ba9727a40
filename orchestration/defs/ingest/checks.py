"""Quality gates on bronze: Great Expectations suites (blocking) and source-versus-bronze reconciliation.

The suites encode the rules the OLTP's constraints promise (non-negative quantities, allowed statuses, ordered
timestamps) so a row that slipped past them — a dropped constraint, a bad import, a bug in ingest — stops the marts
from being rebuilt on it: each suite is a blocking check, and the failing rows are in the check's metadata.
Freshness is a separate, non-blocking check: stale data is worth a warning, not a halted pipeline.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext

from oltp.models import LEDGER_REASONS, ORDER_STATUSES, SHIPMENT_STATUSES, TRACKING_EVENT_TYPES
from orchestration.defs.dbt.translator import bronze_key
from orchestration.defs.ingest.assets import BRONZE_TABLES
from orchestration.quality import Suite, gx_asset_check
from orchestration.resources import StockyardResource
from stockyard.settings import Settings

__all__ = ["BRONZE_SUITES", "FRESHNESS_MAX_AGE", "bronze_checks", "read_bronze", "reconciliation"]

#: How old the newest event of an event table may be before the freshness check warns.
FRESHNESS_MAX_AGE = dt.timedelta(days=2)


def read_bronze(settings: Settings, bronze: str, columns: Sequence[str]) -> Any:
    """The live rows (tombstones dropped) of a bronze table as pandas, decimals as floats.

    Args:
        settings: Settings (lake root).
        bronze: Bronze table name (``oltp__orders``).
        columns: Columns to read.

    Returns:
        A pandas DataFrame (empty with those columns when the table does not exist yet).
    """
    import pandas as pd
    import polars as pl

    from ingest.load_delta import table_uri
    from ingest.state import open_table

    uri = table_uri(str(settings.lake_root), bronze)
    if open_table(uri) is None:
        return pd.DataFrame(columns=list(columns))
    frame = pl.scan_delta(uri).filter(~pl.col("_is_deleted")).select(list(columns)).collect()
    decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    if decimals:
        frame = frame.with_columns(pl.col(decimals).cast(pl.Float64))
    return frame.to_pandas()


def _loader(bronze: str, columns: Sequence[str]) -> Any:
    return lambda settings: read_bronze(settings, bronze, columns)


def _shipments_with_pick_times(settings: Settings) -> Any:
    """Shipments with the earliest pick of their lines: picked ≤ shipped (picked up) ≤ delivered."""
    shipments = read_bronze(
        settings,
        "oltp__shipments",
        ["id", "status", "picked_up_at", "delivered_at", "promised_delivery_at", "weight_kg", "cost"],
    )
    lines = read_bronze(settings, "oltp__shipment_lines", ["shipment_id", "order_line_id"])
    picks = read_bronze(settings, "oltp__pick_tasks", ["order_line_id", "picked_at"])
    first_pick = (
        picks.dropna(subset=["picked_at"]).groupby("order_line_id", as_index=False)["picked_at"].min()
    )
    per_shipment = (
        lines.merge(first_pick, on="order_line_id", how="inner")
        .groupby("shipment_id", as_index=False)["picked_at"]
        .min()
        .rename(columns={"shipment_id": "id", "picked_at": "first_picked_at"})
    )
    return shipments.merge(per_shipment, on="id", how="left")


def _order_lines_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    quantities = ["quantity_allocated", "quantity_picked", "quantity_shipped", "quantity_backordered"]
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToBeBetween(column="quantity_ordered", min_value=1),
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0)
            for c in [*quantities, "quantity_cancelled"]
        ],
        e.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quantity_ordered", column_B="quantity_shipped", or_equal=True
        ),
    ]


def _orders_expectations() -> list[Any]:
    import great_expectations as gx

    from oltp.models import ORDER_CHANNELS

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES)),
        e.ExpectColumnValuesToBeInSet(column="channel", value_set=list(ORDER_CHANNELS)),
        e.ExpectColumnValuesToBeBetween(column="priority", min_value=1, max_value=5),
        e.ExpectColumnValuesToNotBeNull(column="ordered_at"),
    ]


def _shipments_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    ordered = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
    return [
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToBeInSet(column="status", value_set=list(SHIPMENT_STATUSES)),
        e.ExpectColumnValuesToBeBetween(column="weight_kg", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="cost", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="delivered_at", column_B="picked_up_at", **ordered
        ),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="picked_up_at", column_B="first_picked_at", **ordered
        ),
    ]


def _balances_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(column="on_hand", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="reserved", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="on_hand", column_B="reserved", or_equal=True),
    ]


def _ledger_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeInSet(column="reason", value_set=list(LEDGER_REASONS)),
        e.ExpectColumnValuesToNotBeInSet(column="quantity_delta", value_set=[0]),
        e.ExpectColumnValuesToNotBeNull(column="occurred_at"),
    ]


def _tracking_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(TRACKING_EVENT_TYPES)),
        e.ExpectColumnValuesToNotBeNull(column="occurred_at"),
    ]


def _po_lines_expectations() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(column="quantity_ordered", min_value=1),
        e.ExpectColumnValuesToBeBetween(column="quantity_received", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quantity_ordered", column_B="quantity_received", or_equal=True
        ),
    ]


BRONZE_SUITES: list[Suite] = [
    Suite(
        name="gx_order_lines",
        asset=bronze_key("oltp", "order_lines"),
        load=_loader(
            "oltp__order_lines",
            [
                "id",
                "order_id",
                "item_id",
                "quantity_ordered",
                "quantity_allocated",
                "quantity_picked",
                "quantity_shipped",
                "quantity_backordered",
                "quantity_cancelled",
                "unit_price",
            ],
        ),  # fmt: skip
        expectations=_order_lines_expectations,
        description="Order lines: positive ordered quantity, non-negative allocated/picked/shipped, shipped ≤ ordered.",
    ),
    Suite(
        name="gx_orders",
        asset=bronze_key("oltp", "orders"),
        load=_loader("oltp__orders", ["id", "order_number", "status", "channel", "priority", "ordered_at"]),
        expectations=_orders_expectations,
        description="Orders: allowed statuses and channels, priority 1-5, an order time on every order.",
    ),
    Suite(
        name="gx_shipments",
        asset=bronze_key("oltp", "shipments"),
        load=_shipments_with_pick_times,
        expectations=_shipments_expectations,
        description="Shipments: allowed statuses, non-negative weight/cost, delivered ≥ shipped ≥ first pick.",
        additional_deps=(bronze_key("oltp", "shipment_lines"), bronze_key("oltp", "pick_tasks")),
    ),
    Suite(
        name="gx_inventory_balances",
        asset=bronze_key("oltp", "inventory_balances"),
        load=_loader("oltp__inventory_balances", ["id", "item_id", "location_id", "on_hand", "reserved"]),
        expectations=_balances_expectations,
        description="Balances: non-negative on hand and reserved, reserved ≤ on hand.",
    ),
    Suite(
        name="gx_inventory_ledger",
        asset=bronze_key("oltp", "inventory_ledger"),
        load=_loader("oltp__inventory_ledger", ["id", "item_id", "quantity_delta", "reason", "occurred_at"]),
        expectations=_ledger_expectations,
        description="Ledger: known movement reasons, no zero movements, an event time on every movement.",
    ),
    Suite(
        name="gx_tracking_events",
        asset=bronze_key("oltp", "tracking_events"),
        load=_loader("oltp__tracking_events", ["id", "shipment_id", "event_type", "occurred_at"]),
        expectations=_tracking_expectations,
        description="Tracking events: known event types with an event time.",
    ),
    Suite(
        name="gx_purchase_order_lines",
        asset=bronze_key("oltp", "purchase_order_lines"),
        load=_loader(
            "oltp__purchase_order_lines", ["id", "purchase_order_id", "quantity_ordered", "quantity_received"]
        ),
        expectations=_po_lines_expectations,
        description="Purchase order lines: positive ordered quantity, 0 ≤ received ≤ ordered.",
    ),
]

# Event tables and the column whose newest value says how current the table is.
_FRESHNESS = {"orders": "ordered_at", "inventory_ledger": "occurred_at", "events": "occurred_at"}


def _freshness_check(table: str, column: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=bronze_key("oltp", table),
        name="fresh",
        description=f"The newest {column} is at most {FRESHNESS_MAX_AGE} old (warning only).",
    )
    def _fresh(stockyard: StockyardResource) -> dg.AssetCheckResult:
        frame = read_bronze(stockyard.settings(), f"oltp__{table}", [column])
        newest = frame[column].max() if len(frame) else None
        now = dt.datetime.now(dt.UTC)
        if newest is None or newest != newest:  # empty, or NaT
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.WARN, description=f"no {column} in bronze"
            )
        newest = newest.to_pydatetime()
        age = now - newest
        return dg.AssetCheckResult(
            passed=age <= FRESHNESS_MAX_AGE,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"newest": newest.isoformat(), "age_hours": round(age.total_seconds() / 3600, 1)},
            description=f"newest {column} is {age} old",
        )

    return _fresh


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "reconciles_with_source",
            asset=bronze_key(t.source, t.name),
            description="Live row count and key checksum equal the source's (exactly-once ingest).",
        )
        for t in BRONZE_TABLES.values()
    ],
    can_subset=True,
    name="bronze_reconciliation",
)
def reconciliation(
    context: AssetCheckExecutionContext, stockyard: StockyardResource
) -> Iterator[dg.AssetCheckResult]:
    """Compare every selected bronze table with its source (counts and checksums)."""
    from ingest.reconcile import reconcile

    by_key = {bronze_key(t.source, t.name): name for name, t in BRONZE_TABLES.items()}
    names = [by_key[k.asset_key] for k in context.selected_asset_check_keys if k.asset_key in by_key]
    for result in reconcile(stockyard.settings(), tables=names):
        table = BRONZE_TABLES[result.table]
        yield dg.AssetCheckResult(
            asset_key=bronze_key(table.source, table.name),
            check_name="reconciles_with_source",
            passed=result.ok,
            # Not blocking: on a live source, rows committed after the ingest's snapshot differ legitimately.
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "source_rows": result.source_rows,
                "bronze_rows": result.bronze_rows,
                "source_checksum": result.source_checksum,
                "bronze_checksum": result.bronze_checksum,
            },
            description="matches the source"
            if result.ok
            else f"source {result.source_rows} rows vs bronze {result.bronze_rows}",
        )


bronze_checks: list[dg.AssetChecksDefinition] = [
    *[gx_asset_check(suite) for suite in BRONZE_SUITES],
    *[_freshness_check(table, column) for table, column in _FRESHNESS.items()],
    reconciliation,
]
