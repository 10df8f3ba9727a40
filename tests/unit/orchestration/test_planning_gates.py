"""Publication gates, input mapping, replan triggers and approval selection: pure functions on small frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from orchestration.defs.automation.replan import DISRUPTION_EVENTS, replan_reasons
from orchestration.defs.planning.approval import select_suggestions
from orchestration.defs.planning.gates import quantile_violations, replenishment_violations, sop_violations
from orchestration.defs.planning.inputs import replenishment_inputs
from stockyard.errors import NotFoundError, ValidationError


def _forecast(p10: list[float], p50: list[float], p90: list[float]) -> pl.DataFrame:
    n = len(p10)
    return pl.DataFrame(
        {
            "item": ["A"] * n,
            "warehouse": ["W"] * n,
            "date": [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "p10": p10,
            "p50": p50,
            "p90": p90,
        }
    )


def test_quantile_gate_flags_negative_and_crossed_quantiles_only() -> None:
    fc = _forecast([0.0, 1.0, -0.5, 2.0, 1.0], [1.0, 1.0, 0.0, 1.5, 1.0], [2.0, 1.0, 1.0, 3.0, None])
    bad = quantile_violations(fc)
    assert bad["date"].to_list() == [dt.date(2026, 1, 3), dt.date(2026, 1, 4), dt.date(2026, 1, 5)]
    assert bad["violation"].to_list() == [
        "negative quantile",
        "quantiles out of order (need p10 <= p50 <= p90)",
        "null or NaN quantile",
    ]
    assert quantile_violations(fc.head(2)).height == 0


def test_replenishment_gate_flags_supplier_over_capacity() -> None:
    plan = pl.DataFrame(
        {"item": ["A", "B"], "warehouse": ["W", "W"], "order_qty": [10.0, 5.0], "transfer_in": [0.0, 0.0],
         "transfer_out": [0.0, -1.0]}
    )  # fmt: skip
    load = pl.DataFrame(
        {"supplier": ["S1", "S2", "S3"], "allocated": [10.0, 12.0, 99.0], "capacity": [10.0, 11.0, None]}
    )
    bad = replenishment_violations(plan, load)
    assert sorted(bad["entity"].to_list()) == ["B/W/transfer_out", "S2"]


def test_sop_gate_flags_storage_and_throughput_over_capacity() -> None:
    util = pl.DataFrame(
        {"warehouse": ["W1", "W2"], "month": ["2026-01", "2026-01"], "storage_used": [5.0, 11.0],
         "storage_capacity": [10.0, 10.0], "throughput_used": [100.0, 100.0], "throughput_capacity": [99.0, 100.0]}
    )  # fmt: skip
    bad = sop_violations(util)
    assert sorted(zip(bad["warehouse"], bad["resource"], strict=True)) == [
        ("W1", "throughput"),
        ("W2", "storage"),
    ]


def test_replenishment_inputs_net_open_purchase_orders_and_backorders() -> None:
    fc = _forecast([1.0], [2.0], [3.0]).vstack(
        _forecast([1.0], [2.0], [3.0]).with_columns(pl.lit("Z").alias("item"))
    )
    health = pl.DataFrame({"item": ["A"], "warehouse": ["W"], "warehouse_id": [7], "available": [-3.0]})
    backorders = pl.DataFrame({"item": ["A", "A"], "warehouse": ["W", "W"], "quantity_backordered": [2, 3]})
    items = pl.DataFrame(
        {"item_id": [1, 2], "item": ["A", "Z"], "supplier": ["S1", None], "unit_cost": [4.0, 1.0],
         "min_order_qty": [1, 1], "order_multiple": [1, 1]}
    )  # fmt: skip
    abc = pl.DataFrame({"item": ["A", "A"], "warehouse": ["W", "V"], "abc_class": ["B", "A"]})
    suppliers = pl.DataFrame(
        {
            "code": ["S1"],
            "lead_time_mean_days": [4.2],
            "lead_time_sd_days": [1.0],
            "capacity_units_per_week": [70.0],
        }
    )
    po_lines = pl.DataFrame(
        {"purchase_order_id": [1, 2, 3], "item_id": [1, 1, 1], "quantity_ordered": [10, 5, 8],
         "quantity_received": [4, 0, 8]}
    )  # fmt: skip
    pos = pl.DataFrame(
        {
            "purchase_order_id": [1, 2, 3],
            "warehouse_id": [7, 7, 7],
            "status": ["open", "cancelled", "received"],
        }
    )
    f, inv, it, sup = replenishment_inputs(fc, health, backorders, items, abc, suppliers, po_lines, pos)
    assert f["item"].unique().to_list() == ["A"]  # Z has no supplier: not buyable
    row = inv.row(0, named=True)
    assert (row["available"], row["on_order"], row["backorders"]) == (0.0, 6.0, 5.0)
    assert it["abc_class"].to_list() == ["A"]  # best class across warehouses
    assert sup.row(0, named=True) == {
        "supplier": "S1",
        "lead_time_days": 5,
        "lead_time_std_days": 1.0,
        "capacity": 70.0,
    }


def _event(i: int, kind: str, payload: dict) -> dict:
    return {"id": i, "event_type": kind, "aggregate_id": str(i), "payload": payload}


def test_replan_reasons_large_orders_and_disruptions() -> None:
    events = [
        _event(1, "order.created", {"order_number": "SO-1", "lines": [{"item": "A", "quantity": 3}]}),
        _event(2, "order.created", {"order_number": "SO-2", "lines": [{"quantity": 300}, {"quantity": 250}]}),
        _event(3, "purchase_order.cancelled", {"po_number": "PO-9", "reason": "supplier out of stock"}),
        _event(4, "order.allocated", {}),
    ]
    reasons = replan_reasons(events, 500, DISRUPTION_EVENTS)
    assert reasons == [
        "large order SO-2: 550 units (threshold 500)",
        "purchase_order.cancelled PO-9: supplier out of stock",
    ]
    assert replan_reasons(events[:1], 500, DISRUPTION_EVENTS) == []


def test_approval_selection() -> None:
    plan = pl.DataFrame(
        {"item": ["A", "B", "C"], "warehouse": ["W", "W", "W"], "order_qty": [10.0, 0.0, 5.0],
         "inventory_position": [1.0, 50.0, 20.0], "safety_stock": [5.0, 5.0, 5.0],
         "days_of_cover": [1.0, 30.0, 10.0], "lead_time_days": [7, 7, 7]}
    )  # fmt: skip
    assert select_suggestions(plan, all_urgent=True)["item"].to_list() == ["A"]
    assert select_suggestions(plan, item="C", warehouse="W")["order_qty"].to_list() == [5.0]
    with pytest.raises(NotFoundError, match="suggests no purchase order"):
        select_suggestions(plan, item="B", warehouse="W")
    with pytest.raises(NotFoundError):
        select_suggestions(plan, item="Q", warehouse="W")
    with pytest.raises(ValidationError):
        select_suggestions(plan)
    with pytest.raises(ValidationError):
        select_suggestions(plan, item="A", warehouse="W", all_urgent=True)
