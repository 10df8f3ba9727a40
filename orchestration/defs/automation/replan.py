"""Replanning: the event-driven replan job, the weekly slotting schedule and the outbox sensor that replans on a large order or a
supply disruption.

``replan_on_disruption`` reads the OLTP outbox after its cursor (the largest event id it has looked at) and asks
for a replan (fresh marts, then replenishment and S&OP, no retraining) when an ``order.created`` event orders at
least :attr:`ReplanTrigger.large_order_units` units, or a disruption event (a cancelled purchase order or transfer,
a supplier delay) lands. On its first evaluation it starts at the outbox's current end: history is not news.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
from dagster import SensorEvaluationContext

from orchestration.defs.planning.keys import (
    REPLENISHMENT_KEY,
    SLOTTING_KEY,
    SOP_PLAN_KEY,
    SOP_SCENARIOS_KEY,
    TRANSFERS_KEY,
)
from orchestration.resources import StockyardResource

__all__ = [
    "DISRUPTION_EVENTS",
    "ReplanTrigger",
    "replan_job",
    "replan_on_disruption",
    "replan_reasons",
    "replan_selection",
    "weekly_slotting",
    "weekly_slotting_job",
]

#: Outbox event types that change the supply picture enough to replan.
DISRUPTION_EVENTS = (
    "purchase_order.cancelled",
    "purchase_order.delayed",
    "supplier.delayed",
    "transfer.cancelled",
)
_PLAN_KEYS = (REPLENISHMENT_KEY, TRANSFERS_KEY, SOP_PLAN_KEY, SOP_SCENARIOS_KEY)


def replan_selection() -> dg.AssetSelection:
    """Replenishment and S&OP with the marts they read refreshed; the forecast and features are kept as they are.

    Returns:
        The upstream closure of the plans minus features, models and the forecast.
    """
    plans = dg.AssetSelection.assets(*_PLAN_KEYS)
    return (
        plans.upstream()
        - dg.AssetSelection.key_prefixes(["features"], ["ml"])
        - dg.AssetSelection.assets(dg.AssetKey(["marts", "fct_demand_forecast"]))
    )


replan_job = dg.define_asset_job(
    "replan",
    selection=replan_selection(),
    description="Refresh the marts and replan replenishment and S&OP on the current forecast (no retraining).",
)

weekly_slotting_job = dg.define_asset_job(
    "weekly_slotting",
    selection=dg.AssetSelection.assets(SLOTTING_KEY),
    description="Re-slot pick faces from the nightly marts and forecast.",
)

weekly_slotting = dg.ScheduleDefinition(
    name="weekly_slotting",
    job=weekly_slotting_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    description="Re-slot every Sunday at 04:00 UTC (after the nightly replan), so moves happen before the week.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


class ReplanTrigger(dg.ConfigurableResource):
    """Thresholds of the replan sensor (set in the code location's resources or by environment).

    Attributes:
        large_order_units: An order of at least this many units (all lines) triggers a replan.
        disruption_events: Outbox event types that trigger a replan.
        batch: Outbox events read per evaluation.
    """

    large_order_units: int = 500
    disruption_events: list[str] = list(DISRUPTION_EVENTS)
    batch: int = 10_000


def replan_reasons(
    events: Iterable[Mapping[str, Any]], large_order_units: int, disruption_events: Iterable[str]
) -> list[str]:
    """Why the given outbox events call for a replan (empty: they do not).

    Args:
        events: Outbox rows with ``id``, ``event_type``, ``aggregate_id`` and ``payload`` (dict).
        large_order_units: Units from which an order is large.
        disruption_events: Event types that are disruptions.

    Returns:
        One human-readable reason per triggering event.
    """
    disruptions = set(disruption_events)
    reasons = []
    for event in events:
        kind, payload = event["event_type"], event.get("payload") or {}
        if kind == "order.created":
            units = sum(int(line.get("quantity") or 0) for line in payload.get("lines") or [])
            if units >= large_order_units:
                name = payload.get("order_number") or event.get("aggregate_id")
                reasons.append(f"large order {name}: {units} units (threshold {large_order_units})")
        elif kind in disruptions:
            name = payload.get("po_number") or payload.get("transfer_number") or event.get("aggregate_id")
            reasons.append(f"{kind} {name}" + (f": {payload['reason']}" if payload.get("reason") else ""))
    return reasons


def _read_events(
    uri: str, after: int | None, kinds: list[str], batch: int
) -> tuple[list[dict[str, Any]], int]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(uri, row_factory=dict_row) as conn:
        last = conn.execute("select coalesce(max(id), 0) as id from events").fetchone()
        assert last is not None
        if after is None:
            return [], int(last["id"])
        rows = conn.execute(
            "select id, event_type, aggregate_id, payload from events where id > %s and id <= %s "
            "and event_type = any(%s) order by id limit %s",
            (after, last["id"], kinds, batch),
        ).fetchall()
    # A full batch may stop short of the end: resume after its last row, not at the end.
    cursor = int(rows[-1]["id"]) if len(rows) == batch else int(last["id"])
    return rows, cursor


@dg.sensor(
    name="replan_on_disruption",
    job=replan_job,
    minimum_interval_seconds=120,
    description="Replan replenishment and S&OP when a large order or a supply disruption (cancelled purchase "
    "order or transfer, supplier delay) lands in the outbox.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def replan_on_disruption(
    context: SensorEvaluationContext, stockyard: StockyardResource, replan_trigger: ReplanTrigger
) -> dg.SensorResult:
    """Request one replan per batch of outbox events that contains a trigger."""
    after = int(context.cursor) if context.cursor else None
    kinds = ["order.created", *replan_trigger.disruption_events]
    events, cursor = _read_events(stockyard.oltp_uri(), after, kinds, replan_trigger.batch)
    if after is None:
        return dg.SensorResult(skip_reason=f"starting after outbox event {cursor}", cursor=str(cursor))
    reasons = replan_reasons(events, replan_trigger.large_order_units, replan_trigger.disruption_events)
    if not reasons:
        return dg.SensorResult(
            skip_reason=f"no trigger in {len(events)} event(s) up to {cursor}", cursor=str(cursor)
        )
    request = dg.RunRequest(
        run_key=f"replan-{cursor}",
        tags={"stockyard/trigger": "replan", "stockyard/reasons": "; ".join(reasons)[:1000]},
    )
    context.log.info(f"replan requested: {'; '.join(reasons[:5])}")
    return dg.SensorResult(run_requests=[request], cursor=str(cursor))
