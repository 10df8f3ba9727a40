"""Turning approved replenishment suggestions into OLTP purchase orders (``stockyard plan approve``).

Nothing here runs on a schedule: a suggestion becomes a purchase order only when a planner approves it. Each
approved suggestion is one purchase order numbered ``RP-<plan date>-<warehouse>-<item>``, so approving the same
suggestion twice is refused by the OLTP (the number is taken) instead of ordering twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from stockyard.errors import ConflictError, NotFoundError, ValidationError
from stockyard.settings import Settings

__all__ = ["Approval", "approve_suggestions", "select_suggestions", "urgent"]


@dataclass(frozen=True)
class Approval:
    """Outcome of approving one suggestion.

    Attributes:
        item: Item code.
        warehouse: Warehouse code.
        quantity: Units ordered.
        po_number: The purchase order's number.
        created: False when it had been approved before (the order already exists).
    """

    item: str
    warehouse: str
    quantity: int
    po_number: str
    created: bool


def urgent() -> pl.Expr:
    """Suggestions that cannot wait: the position is below safety stock, or the cover ends before a new order
    could arrive.

    Returns:
        A boolean expression over ``fct_replenishment_plan`` columns.
    """
    return (pl.col("order_qty") > 0) & (
        (pl.col("inventory_position") < pl.col("safety_stock"))
        | (pl.col("days_of_cover") < pl.col("lead_time_days"))
    )


def select_suggestions(
    plan: pl.DataFrame, *, item: str | None = None, warehouse: str | None = None, all_urgent: bool = False
) -> pl.DataFrame:
    """The suggestions a planner's approval names.

    Args:
        plan: ``fct_replenishment_plan`` rows.
        item: Approve this item's suggestion (with ``warehouse``).
        warehouse: Warehouse of ``item``.
        all_urgent: Approve every urgent suggestion (see :func:`urgent`).

    Returns:
        Rows with ``order_qty > 0`` to order.

    Raises:
        ValidationError: Neither or both of (item and warehouse) and ``all_urgent`` given.
        NotFoundError: The item × warehouse has no purchase suggestion in the plan.
    """
    if all_urgent == (item is not None or warehouse is not None):
        raise ValidationError("give either --item and --warehouse, or --all-urgent", field="selection")
    if all_urgent:
        return plan.filter(urgent())
    if item is None or warehouse is None:
        raise ValidationError(
            "--item and --warehouse go together", field="item" if item is None else "warehouse"
        )
    rows = plan.filter((pl.col("item") == item) & (pl.col("warehouse") == warehouse))
    if rows.height == 0:
        raise NotFoundError(f"no plan row for item {item} in warehouse {warehouse}", field="item", value=item)
    rows = rows.filter(pl.col("order_qty") > 0)
    if rows.height == 0:
        raise NotFoundError(
            f"the plan suggests no purchase order for item {item} in warehouse {warehouse}",
            field="item",
            value=item,
        )
    return rows


def approve_suggestions(
    settings: Settings, *, item: str | None = None, warehouse: str | None = None, all_urgent: bool = False
) -> list[Approval]:
    """Create one purchase order (source ``replenishment_plan``) per approved suggestion.

    Args:
        settings: Settings (gold directory, OLTP).
        item: Item code to approve (with ``warehouse``).
        warehouse: Warehouse code.
        all_urgent: Approve every urgent suggestion instead.

    Returns:
        One :class:`Approval` per suggestion, in plan order.

    Raises:
        NotFoundError: No published plan, or nothing to approve for the item × warehouse.
        ValidationError: Bad combination of options.
    """
    from oltp.db import get_engine, session_scope
    from oltp.supply import create_purchase_order
    from stockyard.pg import ensure_postgres

    path = settings.gold_dir / "fct_replenishment_plan.parquet"
    if not path.exists():
        raise NotFoundError(
            f"no replenishment plan published at {path}; run `stockyard run` first", field="plan"
        )
    rows = select_suggestions(pl.read_parquet(path), item=item, warehouse=warehouse, all_urgent=all_urgent)
    engine = get_engine(ensure_postgres(settings))
    out = []
    for row in rows.sort("item", "warehouse").iter_rows(named=True):
        plan_date = row.get("plan_date") or dt.date.today()
        number = f"RP-{plan_date:%Y%m%d}-{row['warehouse']}-{row['item']}"
        quantity = int(-(-row["order_qty"] // 1))  # whole units, rounded up like the plan's order multiples
        arrival = row.get("arrival_date")
        try:
            with session_scope(engine) as session:
                create_purchase_order(
                    session=session,
                    supplier=row["supplier"],
                    warehouse=row["warehouse"],
                    lines=[{"item": row["item"], "quantity": quantity}],
                    expected_at=dt.datetime.combine(arrival, dt.time(12), dt.UTC) if arrival else None,
                    source="replenishment_plan",
                    po_number=number,
                )
            created = True
        except ConflictError:
            created = False
        out.append(Approval(row["item"], row["warehouse"], quantity, number, created))
    return out
