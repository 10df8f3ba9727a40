"""Great Expectations suites on the key marts (blocking: a failing mart is neither published nor learned from)."""

from typing import Any

import dagster as dg

from oltp.models import ORDER_STATUSES, SHIPMENT_STATUSES
from orchestration.defs.gold.warehouse import read_mart
from orchestration.quality import Suite, gx_asset_check

__all__ = ["MART_SUITES", "mart_checks"]

_ORDERED = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}


def _loader(name: str, columns: list[str]) -> Any:
    return lambda settings: read_mart(settings, name, columns)


def _order_lines() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeUnique(column="order_line_id"),
        e.ExpectColumnValuesToBeInSet(column="order_status", value_set=list(ORDER_STATUSES)),
        e.ExpectColumnValuesToBeBetween(column="quantity_ordered", min_value=1),
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0)
            for c in ("quantity_allocated", "quantity_picked", "quantity_shipped", "quantity_delivered")
        ],
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quantity_ordered", column_B="quantity_shipped", or_equal=True
        ),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="delivered_at", column_B="shipped_at", **_ORDERED),
        # The mart's picked_at is a line's last pick and shipped_at its first shipment: a backorder picked after a
        # partial shipment legitimately inverts them, so this holds for most lines, not all. The strict invariant
        # (first pick ≤ shipment pick-up ≤ delivery, per shipment) is checked on bronze (gx_shipments).
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="shipped_at", column_B="picked_at", mostly=0.95, **_ORDERED
        ),
    ]


def _shipments() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeUnique(column="shipment_id"),
        e.ExpectColumnValuesToBeInSet(column="status", value_set=list(SHIPMENT_STATUSES)),
        e.ExpectColumnValuesToBeBetween(column="weight_kg", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="cost", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="delivered_at", column_B="picked_up_at", **_ORDERED
        ),
    ]


def _inventory_daily() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeBetween(column="on_hand", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="reserved", min_value=0),
    ]


def _demand_daily() -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeBetween(column="quantity", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0),
        e.ExpectColumnValuesToNotBeNull(column="date"),
    ]


MART_SUITES: list[Suite] = [
    Suite(
        name="gx_fct_order_lines",
        asset=dg.AssetKey(["marts", "fct_order_lines"]),
        load=_loader(
            "fct_order_lines",
            [
                "order_line_id",
                "order_number",
                "item",
                "order_status",
                "quantity_ordered",
                "quantity_allocated",
                "quantity_picked",
                "quantity_shipped",
                "quantity_delivered",
                "picked_at",
                "shipped_at",
                "delivered_at",
            ],
        ),  # fmt: skip
        expectations=_order_lines,
        id_columns=("order_line_id",),
        description="Order lines mart: allowed statuses, sane quantities, delivered ≥ shipped ≥ picked.",
    ),
    Suite(
        name="gx_fct_shipments",
        asset=dg.AssetKey(["marts", "fct_shipments"]),
        load=_loader(
            "fct_shipments",
            ["shipment_id", "shipment_number", "status", "weight_kg", "cost", "picked_up_at", "delivered_at"],
        ),
        expectations=_shipments,
        id_columns=("shipment_id",),
        description="Shipments mart: allowed statuses, non-negative weight and cost, delivered ≥ picked up.",
    ),
    Suite(
        name="gx_fct_inventory_daily",
        asset=dg.AssetKey(["marts", "fct_inventory_daily"]),
        load=_loader("fct_inventory_daily", ["item", "warehouse", "inventory_date", "on_hand", "reserved"]),
        expectations=_inventory_daily,
        id_columns=("item", "warehouse", "inventory_date"),
        description="Daily inventory mart: non-empty, non-negative on hand and reserved.",
    ),
    Suite(
        name="gx_fct_demand_daily",
        asset=dg.AssetKey(["marts", "fct_demand_daily"]),
        load=_loader("fct_demand_daily", ["item", "warehouse", "date", "quantity", "unit_price"]),
        expectations=_demand_daily,
        id_columns=("item", "warehouse", "date"),
        description="Daily demand mart (the forecasting base): non-empty, non-negative quantity and price.",
    ),
]

mart_checks: list[dg.AssetChecksDefinition] = [gx_asset_check(suite) for suite in MART_SUITES]
