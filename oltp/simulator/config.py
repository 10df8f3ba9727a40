"""Configuration of one simulation run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["SimulationConfig", "MODES"]

MODES = ("auto", "services", "bulk")


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Everything random derives from ``seed``; nothing reads the wall clock except the default
    ``start_date`` (today − days, so the history ends with yesterday, the last complete day) — pass ``start_date`` for byte-identical reruns.

    Attributes:
        days: Days of history.
        skus: Number of items.
        warehouses: Number of warehouses.
        seed: Random seed; same seed (and start date), same history.
        mode: ``bulk`` (vectorised, COPY), ``services`` (day by day through the domain services) or ``auto``
            (bulk up to the last ``services_days`` days, then the services).
        start_date: First simulated day (default: today − days, so the last simulated day is yesterday).
        orders_per_day: Scale of the order-line volume: roughly the mean order lines per day over all warehouses,
            before seasonality, trend and promotions (default: one per item, i.e. ``skus``). The knob for large
            benchmark histories.
        customers: Number of customers (default: scales with the order volume).
        services_days: Days run through the services at the end of an ``auto`` run.
        feed_days: Days (at the end of the history) for which landing feed files are written; None = all days.
        bad_row_rate: Share of deliberately malformed feed rows (exercises ingest's quarantine).
        write_feeds: Write the landing feeds at all.
        show_progress: Show rich progress bars.
    """

    days: int = 730
    skus: int = 300
    warehouses: int = 3
    seed: int = 42
    mode: str = "auto"
    start_date: dt.date | None = None
    orders_per_day: float | None = None
    customers: int | None = None
    services_days: int = 14
    feed_days: int | None = 90
    bad_row_rate: float = 0.005
    write_feeds: bool = True
    show_progress: bool = True

    @property
    def lines_per_day(self) -> float:
        """The effective order-line scale (``orders_per_day`` or one line per item and day)."""
        return float(self.orders_per_day) if self.orders_per_day else float(self.skus)

    @property
    def first_day(self) -> dt.date:
        """The first simulated day."""
        if self.start_date is not None:
            return self.start_date
        return dt.date.today() - dt.timedelta(days=self.days)
