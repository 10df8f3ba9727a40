"""Publication gates: rows that make a forecast or a plan unfit to publish.

Each gate returns the offending rows (empty = publishable) with a ``violation`` column saying why. Assets run
them before writing gold, so a bad forecast or a plan over capacity never reaches its consumers; the blocking
asset checks run the same gates on what was published, so the UI shows the verdict and the failing rows.
"""

from __future__ import annotations

import polars as pl

__all__ = ["quantile_violations", "replenishment_violations", "sop_violations"]

_TOL = 1e-6


def quantile_violations(forecast: pl.DataFrame) -> pl.DataFrame:
    """Forecast rows with a null or negative quantile, or quantiles out of order.

    Args:
        forecast: Rows with item, warehouse, date, p10, p50, p90.

    Returns:
        The offending rows with ``violation``.
    """
    q = pl.col("p10"), pl.col("p50"), pl.col("p90")
    reason = (
        pl.when(pl.any_horizontal(c.is_null() | c.is_nan() for c in q))
        .then(pl.lit("null or NaN quantile"))
        .when(pl.any_horizontal(c < 0 for c in q))
        .then(pl.lit("negative quantile"))
        .when((q[0] > q[1] + _TOL) | (q[1] > q[2] + _TOL))
        .then(pl.lit("quantiles out of order (need p10 <= p50 <= p90)"))
    )
    return (
        forecast.with_columns(pl.col("p10", "p50", "p90").cast(pl.Float64))
        .with_columns(reason.alias("violation"))
        .filter(pl.col("violation").is_not_null())
    )


def replenishment_violations(plan: pl.DataFrame, supplier_load: pl.DataFrame) -> pl.DataFrame:
    """Suppliers ordered beyond capacity and plan rows with negative or non-finite quantities.

    Args:
        plan: ``fct_replenishment_plan`` rows (item, warehouse, supplier, order_qty, transfer_in, transfer_out).
        supplier_load: Per supplier: supplier, allocated, capacity (null = unlimited).

    Returns:
        Offending rows: ``entity``, ``value``, ``limit``, ``violation``.
    """
    over = supplier_load.filter(
        pl.col("capacity").is_not_null() & (pl.col("allocated") > pl.col("capacity") * (1 + _TOL) + _TOL)
    ).select(
        pl.col("supplier").alias("entity"),
        pl.col("allocated").cast(pl.Float64).alias("value"),
        pl.col("capacity").cast(pl.Float64).alias("limit"),
        pl.lit("supplier capacity exceeded").alias("violation"),
    )
    bad = (
        plan.unpivot(
            index=["item", "warehouse"],
            on=["order_qty", "transfer_in", "transfer_out"],
            variable_name="column",
        )
        .filter(pl.col("value").is_null() | pl.col("value").is_nan() | (pl.col("value") < 0))
        .select(
            pl.concat_str("item", "warehouse", "column", separator="/").alias("entity"),
            pl.col("value").cast(pl.Float64),
            pl.lit(0.0).alias("limit"),
            pl.lit("negative or missing quantity").alias("violation"),
        )
    )
    return pl.concat([over, bad])


def sop_violations(utilisation: pl.DataFrame, tolerance: float = 1e-4) -> pl.DataFrame:
    """Warehouse-months of an S&OP plan using more storage or throughput than available.

    Args:
        utilisation: Per warehouse x month: storage_used, storage_capacity, throughput_used, throughput_capacity.
        tolerance: Relative slack for solver round-off.

    Returns:
        Offending rows: warehouse, month, ``resource``, ``used``, ``capacity``, ``violation``.
    """
    parts = []
    for resource in ("storage", "throughput"):
        used, cap = pl.col(f"{resource}_used"), pl.col(f"{resource}_capacity")
        parts.append(
            utilisation.filter(used > cap * (1 + tolerance) + tolerance).select(
                "warehouse",
                pl.col("month").cast(pl.Utf8),
                pl.lit(resource).alias("resource"),
                used.cast(pl.Float64).alias("used"),
                cap.cast(pl.Float64).alias("capacity"),
                pl.lit(f"{resource} capacity exceeded").alias("violation"),
            )
        )
    return pl.concat(parts)
