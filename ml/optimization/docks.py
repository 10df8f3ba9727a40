"""Dock appointment scheduling: assign inbound/outbound appointments to doors and start slots.

CP-SAT model: each appointment has a start on the slot grid (``start = slot_minutes * k``)
inside its hard window ``[earliest_start, latest_end - duration]``, and one optional interval
per compatible door, exactly one of which is present; each door's intervals are in a
``NoOverlap`` constraint (plus ``changeover_minutes`` of gap between consecutive
appointments). Compatibility: an ``inbound`` appointment needs an ``inbound`` or ``both`` door,
``outbound`` likewise, and ``needs_reefer`` appointments need a ``reefer`` door.

Objective: ``lateness_weight * sum(priority * lateness) + makespan`` where ``lateness = max(0,
start - target_start)`` (``target_start`` defaults to ``earliest_start``, i.e. the time the
truck asked for), so the schedule first serves trucks as close to their requested time as
possible, weighted by priority, then packs the day.

Times are integer minutes from the start of the planning horizon.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import polars as pl

from ml.optimization.errors import InfeasibleError

__all__ = ["DockConfig", "DockSchedule", "schedule_docks"]

_DIRECTIONS = ("inbound", "outbound")
_DOOR_KINDS = ("inbound", "outbound", "both")


@dataclass(frozen=True)
class DockConfig:
    """Settings for :func:`schedule_docks`.

    Attributes:
        slot_minutes: Start-time granularity (appointments start on multiples of this).
        changeover_minutes: Minimum gap between consecutive appointments at a door.
        lateness_weight: Weight of total (priority-weighted) lateness vs makespan.
        time_limit_s: CP-SAT time limit.
        workers: CP-SAT search workers.
    """

    slot_minutes: int = 15
    changeover_minutes: int = 0
    lateness_weight: int = 100
    time_limit_s: float = 10.0
    workers: int = 2


@dataclass
class DockSchedule:
    """Output of :func:`schedule_docks`.

    Attributes:
        schedule: One row per appointment: ``appointment_id`` (Utf8), ``door`` (Utf8),
            ``start``, ``end``, ``lateness`` (Int64 minutes), ``direction`` (Utf8).
        doors: Per door: ``door``, ``appointments`` (Int64), ``busy_minutes`` (Int64),
            ``utilisation`` (Float64, busy / makespan).
        summary: ``status`` (``"OPTIMAL"``/``"FEASIBLE"``), ``makespan``, ``total_lateness``,
            ``weighted_lateness``, ``objective``, ``solve_time_s``.
    """

    schedule: pl.DataFrame
    doors: pl.DataFrame
    summary: dict[str, Any]


def _validate(
    appointments: pl.DataFrame, doors: pl.DataFrame, cfg: DockConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    need = ("appointment_id", "direction", "duration", "earliest_start", "latest_end")
    missing = [c for c in need if c not in appointments.columns]
    if missing:
        raise ValueError(f"appointments: missing column(s) {', '.join(missing)}")
    missing = [c for c in ("door", "kind") if c not in doors.columns]
    if missing:
        raise ValueError(f"doors: missing column(s) {', '.join(missing)}")
    if appointments["appointment_id"].n_unique() != appointments.height:
        raise ValueError("appointments: 'appointment_id' must be unique")
    if doors["door"].n_unique() != doors.height:
        raise ValueError("doors: 'door' must be unique")
    if cfg.slot_minutes < 1:
        raise ValueError("config.slot_minutes: must be >= 1")
    apps = appointments.to_dicts()
    drs = doors.to_dicts()
    for d in drs:
        if d["kind"] not in _DOOR_KINDS:
            raise ValueError(f"doors: door {d['door']} has kind {d['kind']!r}, expected one of {_DOOR_KINDS}")
        d["reefer"] = bool(d.get("reefer") or False)
    for a in apps:
        aid = a["appointment_id"]
        if a["direction"] not in _DIRECTIONS:
            raise ValueError(
                f"appointments: {aid} has direction {a['direction']!r}, expected inbound/outbound"
            )
        for c in ("duration", "earliest_start", "latest_end"):
            if a[c] is None or a[c] < 0 or int(a[c]) != a[c]:
                raise ValueError(f"appointments: {aid} '{c}' must be a non-negative integer (minutes)")
        if a["duration"] == 0:
            raise ValueError(f"appointments: {aid} 'duration' must be > 0")
        a["needs_reefer"] = bool(a.get("needs_reefer") or False)
        a["priority"] = int(a.get("priority") or 1)
        target = a.get("target_start")
        a["target_start"] = int(target if target is not None else a["earliest_start"])
    return apps, drs


def _compatible(app: dict[str, Any], door: dict[str, Any]) -> bool:
    return door["kind"] in (app["direction"], "both") and (door["reefer"] or not app["needs_reefer"])


def _slot_range(app: dict[str, Any], slot: int) -> tuple[int, int]:
    lo = -(-int(app["earliest_start"]) // slot)  # ceil
    hi = (int(app["latest_end"]) - int(app["duration"])) // slot
    return lo, hi


def _build(
    apps: list[dict[str, Any]], drs: list[dict[str, Any]], cfg: DockConfig, with_objective: bool
) -> tuple[Any, dict[str, Any]]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    slot = cfg.slot_minutes
    horizon = max(int(a["latest_end"]) for a in apps) + cfg.changeover_minutes
    per_door: dict[int, list[Any]] = {d: [] for d in range(len(drs))}
    v: dict[str, Any] = {"k": [], "lit": [], "late": [], "end": []}
    for a in apps:
        lo, hi = _slot_range(a, slot)
        k = model.new_int_var(lo, hi, f"k_{a['appointment_id']}")
        start = slot * k
        end = model.new_int_var(0, horizon, f"e_{a['appointment_id']}")
        model.add(end == start + int(a["duration"]))
        lits = {}
        for d, door in enumerate(drs):
            if not _compatible(a, door):
                continue
            lit = model.new_bool_var(f"p_{a['appointment_id']}_{door['door']}")
            # The changeover is part of the blocked interval so the next truck waits for it.
            size = int(a["duration"]) + cfg.changeover_minutes
            blocked_end = model.new_int_var(0, horizon, "")
            model.add(blocked_end == start + size)
            per_door[d].append(model.new_optional_interval_var(start, size, blocked_end, lit, ""))
            lits[d] = lit
        model.add_exactly_one(lits.values())
        late = model.new_int_var(0, horizon, f"l_{a['appointment_id']}")
        model.add(late >= start - a["target_start"])
        v["k"].append(k)
        v["lit"].append(lits)
        v["late"].append(late)
        v["end"].append(end)
    for ivs in per_door.values():
        if len(ivs) > 1:
            model.add_no_overlap(ivs)
    if with_objective:
        makespan = model.new_int_var(0, horizon, "makespan")
        model.add_max_equality(makespan, v["end"])
        model.minimize(
            cfg.lateness_weight * sum(a["priority"] * late for a, late in zip(apps, v["late"], strict=True))
            + makespan
        )
        v["makespan"] = makespan
    return model, v


def _solve(model: Any, cfg: DockConfig, time_limit: float) -> tuple[Any, Any]:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_search_workers = cfg.workers
    return solver, solver.solve(model)


def _diagnose(apps: list[dict[str, Any]], drs: list[dict[str, Any]], cfg: DockConfig) -> InfeasibleError:
    """Add appointments in window order until the schedule breaks; name the one that broke it."""
    from ortools.sat.python import cp_model

    order = sorted(range(len(apps)), key=lambda i: (apps[i]["latest_end"], apps[i]["earliest_start"]))
    kept: list[dict[str, Any]] = []
    for i in order:
        trial = [*kept, apps[i]]
        model, _ = _build(trial, drs, cfg, with_objective=False)
        _, status = _solve(model, cfg, max(1.0, cfg.time_limit_s / 4))
        if status == cp_model.INFEASIBLE:
            a = apps[i]
            doors = [d["door"] for d in drs if _compatible(a, d)]
            return InfeasibleError(
                "door_capacity",
                f"appointment {a['appointment_id']} ({a['direction']}{', reefer' if a['needs_reefer'] else ''}, "
                f"{a['duration']} min in [{a['earliest_start']}, {a['latest_end']}]) cannot fit: compatible doors "
                f"{', '.join(map(str, doors))} are fully booked by other appointments in that window",
            )
        kept.append(apps[i])
    return InfeasibleError("door_capacity", "the appointments cannot all be scheduled within the time limit")


def schedule_docks(
    appointments: pl.DataFrame, doors: pl.DataFrame, config: DockConfig | None = None
) -> DockSchedule:
    """Schedule appointments on dock doors without double-booking.

    Args:
        appointments: ``appointment_id`` (Utf8, unique), ``direction`` (``"inbound"`` |
            ``"outbound"``), ``duration`` (Int64 minutes > 0), ``earliest_start``,
            ``latest_end`` (Int64 minutes from horizon start; hard window). Optional:
            ``needs_reefer`` (Boolean), ``priority`` (Int64 >= 1, weight on lateness),
            ``target_start`` (Int64; lateness is measured from it, default ``earliest_start``).
        doors: ``door`` (Utf8, unique), ``kind`` (``"inbound"`` | ``"outbound"`` | ``"both"``);
            optional ``reefer`` (Boolean).
        config: Slot size, changeover, weights and solver limits.

    Returns:
        A :class:`DockSchedule`.

    Raises:
        ValueError: Missing columns, bad directions/kinds, non-integer or negative times.
        InfeasibleError: An appointment with no compatible door (``"door_compatibility"``), a
            window shorter than its duration on the slot grid (``"time_window"``), or a set of
            appointments that cannot all fit (``"door_capacity"``, naming the first appointment,
            in window order, that no longer fits).
    """
    from ortools.sat.python import cp_model

    cfg = config or DockConfig()
    apps, drs = _validate(appointments, doors, cfg)
    empty = pl.DataFrame(
        schema={
            "appointment_id": pl.Utf8,
            "door": pl.Utf8,
            "start": pl.Int64,
            "end": pl.Int64,
            "lateness": pl.Int64,
            "direction": pl.Utf8,
        }
    )
    if not apps:
        return DockSchedule(
            empty,
            pl.DataFrame(),
            {
                "status": "OPTIMAL",
                "makespan": 0,
                "total_lateness": 0,
                "weighted_lateness": 0,
                "objective": 0,
                "solve_time_s": 0.0,
            },
        )
    for a in apps:
        if not any(_compatible(a, d) for d in drs):
            need = f"{a['direction']}{' reefer' if a['needs_reefer'] else ''}"
            raise InfeasibleError(
                "door_compatibility",
                f"appointment {a['appointment_id']} needs an {need} door and there is none",
            )
        lo, hi = _slot_range(a, cfg.slot_minutes)
        if lo > hi:
            raise InfeasibleError(
                "time_window",
                f"appointment {a['appointment_id']}: {a['duration']} min does not fit in window "
                f"[{a['earliest_start']}, {a['latest_end']}] on the {cfg.slot_minutes}-minute slot grid",
            )
    t0 = time.perf_counter()
    model, v = _build(apps, drs, cfg, with_objective=True)
    solver, status = _solve(model, cfg, cfg.time_limit_s)
    if status == cp_model.INFEASIBLE:
        raise _diagnose(apps, drs, cfg)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise InfeasibleError(
            "time_limit",
            f"no schedule found within {cfg.time_limit_s:g} s; raise time_limit_s or check windows",
        )
    elapsed = time.perf_counter() - t0
    rows = []
    for a, k, lits in zip(apps, v["k"], v["lit"], strict=True):
        start = cfg.slot_minutes * solver.value(k)
        door = next(drs[d]["door"] for d, lit in lits.items() if solver.value(lit))
        rows.append(
            {
                "appointment_id": str(a["appointment_id"]),
                "door": str(door),
                "start": start,
                "end": start + int(a["duration"]),
                "lateness": max(0, start - a["target_start"]),
                "direction": a["direction"],
            }
        )
    schedule = pl.DataFrame(rows, schema=empty.schema).sort("door", "start")
    makespan = int(schedule["end"].to_numpy().max())
    doors_out = (
        pl.DataFrame({"door": [str(d["door"]) for d in drs]})
        .join(
            schedule.group_by("door").agg(
                pl.len().cast(pl.Int64).alias("appointments"),
                (pl.col("end") - pl.col("start")).sum().alias("busy_minutes"),
            ),
            on="door",
            how="left",
        )
        .with_columns(pl.col("appointments", "busy_minutes").fill_null(0))
        .with_columns((pl.col("busy_minutes") / max(makespan, 1)).alias("utilisation"))
    )
    weighted = sum(a["priority"] * r["lateness"] for a, r in zip(apps, rows, strict=True))
    summary = {
        "status": "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE",
        "makespan": makespan,
        "total_lateness": int(schedule["lateness"].sum()),
        "weighted_lateness": int(weighted),
        "objective": int(cfg.lateness_weight * weighted + makespan),
        "solve_time_s": elapsed,
    }
    return DockSchedule(schedule=schedule, doors=doors_out, summary=summary)
