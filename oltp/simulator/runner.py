"""``simulate()``: master data, demand, the bulk history, the services tail, feeds and the run summary."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from oltp.simulator.bulk import build_history, write_expected_demand, write_history, write_master
from oltp.simulator.config import MODES, SimulationConfig
from oltp.simulator.demand import build_demand, sample_order_lines
from oltp.simulator.flow import run_flow
from oltp.simulator.master import build_master
from stockyard.errors import ValidationError
from stockyard.settings import Settings, get_settings

__all__ = ["simulate", "streams"]


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams per concern, so changing one part of the model leaves the others' draws alone.

    Args:
        seed: The run seed.

    Returns:
        Generators by name.
    """
    names = ("master", "demand", "lines", "flow", "history", "services", "feeds")
    return {n: np.random.default_rng([seed, k]) for k, n in enumerate(names)}


class _Quiet:
    def add_task(self, *_: Any, **__: Any) -> int:
        return 0

    def advance(self, *_: Any, **__: Any) -> None:
        return None

    def update(self, *_: Any, **__: Any) -> None:
        return None


@contextmanager
def _progress(enabled: bool):
    if not enabled:
        yield _Quiet()
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as p:
        yield p


def _validate(config: SimulationConfig) -> None:
    if config.mode not in MODES:
        raise ValidationError(
            f"mode must be one of {', '.join(MODES)}, got '{config.mode}'", field="mode", value=config.mode
        )
    for name in ("days", "skus", "warehouses"):
        if getattr(config, name) < 1:
            raise ValidationError(f"{name} must be at least 1", field=name, value=getattr(config, name))
    if config.lines_per_day <= 0:
        raise ValidationError(
            "orders_per_day must be positive", field="orders_per_day", value=config.lines_per_day
        )


def simulate(config: SimulationConfig, settings: Settings | None = None) -> dict[str, Any]:
    """Simulate an operations history into the OLTP database (and landing feeds) of ``settings``.

    Args:
        config: What to simulate.
        settings: Stockyard settings (default: :func:`stockyard.settings.get_settings`).

    Returns:
        A summary: counts of orders, lines, shipments, stockout cell-days, promo item-days, feed files and rows,
        deliberately malformed feed rows, elapsed seconds and simulated days per second.

    Raises:
        ValidationError: bad configuration, or the database already holds a simulated history.
    """
    from oltp.migrate import upgrade
    from stockyard.pg import ensure_postgres

    _validate(config)
    settings = settings or get_settings()
    started = time.perf_counter()
    uri = ensure_postgres(settings)
    upgrade(uri)
    rs = streams(config.seed)
    bulk_days = {"bulk": config.days, "services": 0, "auto": max(0, config.days - config.services_days)}[
        config.mode
    ]
    summary: dict[str, Any] = {"mode": config.mode, "seed": config.seed, "start_date": str(config.first_day)}

    with _progress(config.show_progress) as progress, psycopg.connect(uri) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('stockyard.simulate'))")
        exists = conn.execute("select exists (select 1 from sim.runs)").fetchone()
        if exists is not None and exists[0]:
            raise ValidationError(
                "this database already holds a simulated history; simulate into a fresh STOCKYARD_HOME "
                "(or drop the database) instead",
                field="database",
            )
        task = progress.add_task("master data & demand", total=4)
        master = build_master(config, rs["master"])
        progress.advance(task)
        plan = build_demand(config, master, rs["demand"])
        progress.advance(task)
        lines = sample_order_lines(plan, master, rs["lines"])
        progress.advance(task)
        ids = write_master(conn, master)
        write_expected_demand(conn, master, plan)
        progress.advance(task)

        task = progress.add_task(f"stock flow ({bulk_days} days, bulk)", total=max(bulk_days, 1))
        flow = run_flow(
            lines, plan, master, rs["flow"], days=bulk_days, progress=lambda n: progress.advance(task, n)
        )
        if bulk_days == 0:
            progress.advance(task)
        task = progress.add_task("building tables", total=1)
        history = build_history(config, master, lines, flow, ids, conn, rs["history"], bulk_days)
        progress.advance(task)
        task = progress.add_task("COPY into PostgreSQL", total=len(history.tables))
        rows = write_history(conn, history, progress=lambda n, _t: progress.advance(task, n))
        conn.execute(
            "insert into sim.runs (seed, start_date, days, skus, warehouses, mode) values (%s, %s, %s, %s, %s, %s)",
            (config.seed, config.first_day, config.days, config.skus, config.warehouses, config.mode),
        )
        conn.commit()
        summary["bulk_days"] = bulk_days
        summary["bulk_rows"] = rows
        summary["stockout_cell_days"] = flow.stockout_days
        summary["lost_units"] = flow.lost_units

        services_days = config.days - bulk_days
        if services_days > 0:
            from oltp.simulator.services import run_services

            task = progress.add_task(f"services ({services_days} days)", total=services_days)
            svc = run_services(
                uri,
                config,
                master,
                plan,
                lines,
                flow,
                history,
                rs["services"],
                first_day=bulk_days,
                progress=lambda n: progress.advance(task, n),
            )
            summary.update({f"services_{k}": v for k, v in svc.items()})
            summary["stockout_cell_days"] += svc.get("stockout_cell_days", 0)

        if config.write_feeds:
            from oltp.simulator.feeds import write_feeds

            task = progress.add_task("landing feeds", total=1)
            summary.update(write_feeds(conn, settings.landing_dir, config, master, rs["feeds"]))
            progress.advance(task)

        tables = (
            "orders",
            "order_lines",
            "shipments",
            "tracking_events",
            "purchase_orders",
            "receipts",
            "returns",
            "inventory_ledger",
            "events",
        )
        counts = conn.execute("select " + ", ".join(f"(select count(*) from {t})" for t in tables)).fetchone()
        assert counts is not None
        summary.update(
            {
                ("ledger_rows" if t == "inventory_ledger" else t): n
                for t, n in zip(tables, counts, strict=True)
            }
        )
    summary["promo_item_days"] = int((plan.discount > 0).sum())
    summary["expected_demand_rows"] = int(plan.expected.size)
    elapsed = time.perf_counter() - started
    summary["seconds"] = round(elapsed, 1)
    summary["days_per_second"] = round(config.days / elapsed, 1)
    return summary
