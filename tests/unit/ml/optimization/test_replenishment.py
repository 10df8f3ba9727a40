"""Replenishment: hand-computed targets, rounding, capacity allocation, transfers, properties."""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import NormalDist

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.optimization.replenishment import ReplenishmentConfig, plan_replenishment, round_order_quantity

Z90 = NormalDist().inv_cdf(0.9)
D0 = date(2024, 1, 1)


def _forecast(item: str, warehouse: str, mean: float, sigma: float, days: int = 30) -> list[dict]:
    return [
        {
            "item": item,
            "warehouse": warehouse,
            "date": D0 + timedelta(days=d),
            "p10": mean - Z90 * sigma,
            "p50": mean,
            "p90": mean + Z90 * sigma,
        }
        for d in range(days)
    ]


def test_targets_match_hand_computation():
    fc = pl.DataFrame(_forecast("A12", "W1", 10.0, 2.0))
    inv = pl.DataFrame({"item": ["A12"], "warehouse": ["W1"], "available": [12.0]})
    items = pl.DataFrame(
        {
            "item": ["A12"],
            "supplier": ["S"],
            "unit_cost": [10.0],
            "abc_class": ["A"],
            "order_multiple": [50.0],
        }
    )
    sup = pl.DataFrame({"supplier": ["S"], "lead_time_days": [4]})
    row = plan_replenishment(fc, inv, items, sup).plan.row(0, named=True)
    z98 = NormalDist().inv_cdf(0.98)
    # Hand: mu_L = 4 * 10 = 40; sigma_L = sqrt(4 * 2^2) = 4; SS = z98 * 4; s = 40 + SS.
    assert row["lead_time_demand"] == pytest.approx(40.0)
    assert row["sigma_lead_time"] == pytest.approx(4.0)
    assert row["safety_stock"] == pytest.approx(z98 * 4)
    assert row["reorder_point"] == pytest.approx(40 + z98 * 4)
    # EOQ = sqrt(2 * 3650 * 50 / (0.25 * 10)) = sqrt(146000)
    assert row["eoq"] == pytest.approx(math.sqrt(146000))
    assert row["order_up_to"] == pytest.approx(40 + z98 * 4 + math.sqrt(146000))
    need = row["order_up_to"] - 12
    assert row["order_qty"] == math.ceil(need / 50) * 50
    assert row["arrival_date"] == D0 + timedelta(days=4)
    assert row["reason"].startswith("position 12 <= reorder point 48.2 (lead time 4 d, service 98%)")


def test_no_order_above_reorder_point():
    fc = pl.DataFrame(_forecast("B", "W1", 1.0, 0.1))
    inv = pl.DataFrame({"item": ["B"], "warehouse": ["W1"], "available": [500.0]})
    items = pl.DataFrame({"item": ["B"], "supplier": ["S"], "unit_cost": [1.0]})
    sup = pl.DataFrame({"supplier": ["S"], "lead_time_days": [7]})
    row = plan_replenishment(fc, inv, items, sup).plan.row(0, named=True)
    assert row["order_qty"] == 0 and row["reason"].startswith("no order")


@pytest.mark.parametrize(
    ("qty", "moq", "mult", "expected"),
    [(0, 10, 5, 0), (3, 10, 1, 10), (11, 10, 5, 15), (11, 0, 0, 11), (2, 7, 5, 10), (12.5, 0, 6, 18)],
)
def test_round_order_quantity(qty, moq, mult, expected):
    assert round_order_quantity(qty, moq, mult) == expected


def test_supplier_capacity_allocates_by_priority_and_says_so():
    fc = pl.DataFrame(_forecast("A1", "W", 10.0, 1.0) + _forecast("C1", "W", 10.0, 1.0))
    inv = pl.DataFrame({"item": ["A1", "C1"], "warehouse": ["W", "W"], "available": [0.0, 0.0]})
    items = pl.DataFrame(
        {
            "item": ["A1", "C1"],
            "supplier": ["S", "S"],
            "unit_cost": [100.0, 100.0],
            "abc_class": ["A", "C"],
            "order_multiple": [10.0, 10.0],
        }
    )
    sup = pl.DataFrame({"supplier": ["S"], "lead_time_days": [5], "capacity": [150.0]})
    res = plan_replenishment(fc, inv, items, sup)
    plan = {r["item"]: r for r in res.plan.to_dicts()}
    # Each wants ~ s + EOQ: mu_L 50 + SS + EOQ sqrt(2*3650*50/25) = 120.8 -> > 170 rounded to 10.
    assert plan["A1"]["suggested_qty"] > 150
    assert plan["A1"]["order_qty"] == 150 and plan["C1"]["order_qty"] == 0
    assert plan["A1"]["capacity_limited"] and "capacity 150" in plan["A1"]["reason"]
    load = res.supplier_load.row(0, named=True)
    assert load["allocated"] == 150 and load["binding"]


def test_transfer_from_excess_to_shortage_before_buying():
    fc = pl.DataFrame(_forecast("X", "N", 5.0, 1.0) + _forecast("X", "S", 5.0, 1.0))
    inv = pl.DataFrame({"item": ["X", "X"], "warehouse": ["N", "S"], "available": [2000.0, 0.0]})
    items = pl.DataFrame({"item": ["X"], "supplier": ["V"], "unit_cost": [5.0]})
    sup = pl.DataFrame({"supplier": ["V"], "lead_time_days": [10]})
    res = plan_replenishment(fc, inv, items, sup)
    plan = {r["warehouse"]: r for r in res.plan.to_dicts()}
    tr = res.transfers.row(0, named=True)
    assert (tr["from_warehouse"], tr["to_warehouse"]) == ("N", "S")
    assert tr["quantity"] == math.floor(plan["S"]["order_up_to"])
    assert plan["S"]["order_qty"] == 0  # covered by the transfer
    assert plan["N"]["available"] - tr["quantity"] >= plan["N"]["order_up_to"]


@pytest.mark.parametrize(
    ("frame", "mutate", "field"),
    [
        ("forecast", lambda f: f.with_columns(pl.col("p10") + 100), "quantiles out of order"),
        ("forecast", lambda f: f.drop("p90"), "p90"),
        ("items", lambda f: f.with_columns(pl.lit(0.0).alias("unit_cost")), "unit_cost"),
        ("items", lambda f: f.with_columns(pl.lit("NOPE").alias("supplier")), "supplier"),
        ("inventory", lambda f: f.with_columns(pl.lit(-1.0).alias("available")), "available"),
    ],
)
def test_bad_input_names_the_field(frame, mutate, field):
    args = {
        "forecast": pl.DataFrame(_forecast("A", "W", 3.0, 1.0)),
        "inventory": pl.DataFrame({"item": ["A"], "warehouse": ["W"], "available": [1.0]}),
        "items": pl.DataFrame({"item": ["A"], "supplier": ["S"], "unit_cost": [1.0]}),
        "suppliers": pl.DataFrame({"supplier": ["S"], "lead_time_days": [3]}),
    }
    args[frame] = mutate(args[frame])
    with pytest.raises(ValueError, match=field):
        plan_replenishment(**args)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 30.0),
            st.floats(0.0, 5.0),
            st.floats(0.0, 400.0),
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from([0.0, 25.0]),
            st.sampled_from([1.0, 6.0, 12.0]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.floats(0.0, 300.0), min_size=2, max_size=2),
    st.one_of(st.none(), st.floats(0.0, 500.0)),
)
def test_orders_and_transfers_never_break_rules(specs, stock2, capacity):
    fc_rows, inv_rows, item_rows = [], [], []
    for k, (mean, sigma, stock, cls, moq, mult) in enumerate(specs):
        item = f"I{k}"
        for wh, st_ in (("W1", stock), ("W2", stock2[k % 2])):
            fc_rows += _forecast(item, wh, mean + Z90 * sigma, sigma, days=14)
            inv_rows.append({"item": item, "warehouse": wh, "available": st_})
        item_rows.append(
            {
                "item": item,
                "supplier": "S",
                "unit_cost": 4.0,
                "abc_class": cls,
                "min_order_qty": moq,
                "order_multiple": mult,
            }
        )
    res = plan_replenishment(
        pl.DataFrame(fc_rows),
        pl.DataFrame(inv_rows),
        pl.DataFrame(item_rows),
        pl.DataFrame(
            {"supplier": ["S"], "lead_time_days": [5], "capacity": [capacity]},
            schema_overrides={"capacity": pl.Float64},
        ),
        ReplenishmentConfig(),
    )
    plan = res.plan
    ordered = plan.filter(pl.col("order_qty") > 0)
    for r in ordered.to_dicts():
        spec = specs[int(r["item"][1:])]
        assert r["order_qty"] >= spec[4] - 1e-9
        assert r["order_qty"] / spec[5] == pytest.approx(round(r["order_qty"] / spec[5]))
        assert r["order_qty"] <= r["suggested_qty"] + 1e-9
    if capacity is not None:
        assert plan["order_qty"].sum() <= capacity + 1e-6
    # Transfers: donors keep their order-up-to level and never ship more than they hold.
    for r in plan.to_dicts():
        assert r["transfer_out"] <= r["available"] + 1e-9
        if r["transfer_out"] > 0:
            assert r["inventory_position"] - r["transfer_out"] >= r["order_up_to"] - 1e-6
    assert plan["transfer_in"].sum() == pytest.approx(plan["transfer_out"].sum())
    assert res.transfers["quantity"].sum() == pytest.approx(plan["transfer_in"].sum())


def test_first_order_past_the_hundredth_row_keeps_its_arrival_date():
    # 150 well-stocked item x warehouse rows sort before the one that orders: the plan's column types must come
    # from every row (a first `make run` failed building the plan when the first order came late in the frame).
    items = [f"A{i:03d}" for i in range(150)] + ["Z"]
    fc = pl.DataFrame([r for it in items for r in _forecast(it, "W1", 1.0, 0.1, days=10)])
    inv = pl.DataFrame({"item": items, "warehouse": ["W1"] * len(items), "available": [500.0] * 150 + [0.0]})
    master = pl.DataFrame({"item": items, "supplier": ["S"] * len(items), "unit_cost": [1.0] * len(items)})
    sup = pl.DataFrame({"supplier": ["S"], "lead_time_days": [3]})
    plan = plan_replenishment(fc, inv, master, sup).plan
    assert plan.schema["arrival_date"] == pl.Date
    ordered = plan.filter(pl.col("order_qty") > 0)
    assert ordered["item"].to_list() == ["Z"]
    assert ordered["arrival_date"].to_list() == [D0 + timedelta(days=3)]
    assert plan.filter(pl.col("item") != "Z")["arrival_date"].null_count() == 150
