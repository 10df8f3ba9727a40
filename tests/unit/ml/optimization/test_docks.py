"""Dock scheduling: hand-checked optimum, brute force on one door, no double booking, errors."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.optimization.docks import DockConfig, schedule_docks
from ml.optimization.errors import InfeasibleError


def _apps(rows: list[dict]) -> pl.DataFrame:
    base = {"direction": "inbound", "needs_reefer": False, "priority": 1}
    return pl.DataFrame([{**base, **r} for r in rows])


DOORS = pl.DataFrame({"door": ["D1"], "kind": ["inbound"], "reefer": [False]})


def test_priority_goes_first_hand_optimum():
    apps = _apps(
        [
            {"appointment_id": "A", "duration": 60, "earliest_start": 0, "latest_end": 240, "priority": 1},
            {"appointment_id": "B", "duration": 60, "earliest_start": 0, "latest_end": 240, "priority": 2},
        ]
    )
    res = schedule_docks(apps, DOORS)
    got = {r["appointment_id"]: r["start"] for r in res.schedule.to_dicts()}
    assert got == {"B": 0, "A": 60}
    assert res.summary["weighted_lateness"] == 60 and res.summary["makespan"] == 120
    assert res.summary["status"] == "OPTIMAL"


def test_reefer_and_direction_compatibility():
    doors = pl.DataFrame(
        {
            "door": ["IN", "OUT", "COLD"],
            "kind": ["inbound", "outbound", "both"],
            "reefer": [False, False, True],
        }
    )
    apps = _apps(
        [
            {
                "appointment_id": "frozen",
                "duration": 30,
                "earliest_start": 0,
                "latest_end": 60,
                "needs_reefer": True,
            },
            {
                "appointment_id": "ship",
                "duration": 30,
                "earliest_start": 0,
                "latest_end": 60,
                "direction": "outbound",
            },
            {"appointment_id": "recv", "duration": 30, "earliest_start": 0, "latest_end": 60},
        ]
    )
    res = schedule_docks(apps, doors)
    door = {r["appointment_id"]: r["door"] for r in res.schedule.to_dicts()}
    assert door == {"frozen": "COLD", "ship": "OUT", "recv": "IN"}
    assert res.summary["total_lateness"] == 0


def test_changeover_gap():
    apps = _apps(
        [
            {"appointment_id": "A", "duration": 30, "earliest_start": 0, "latest_end": 200},
            {"appointment_id": "B", "duration": 30, "earliest_start": 0, "latest_end": 200, "priority": 2},
        ]
    )
    res = schedule_docks(apps, DOORS, DockConfig(changeover_minutes=15))
    got = {r["appointment_id"]: r["start"] for r in res.schedule.to_dicts()}
    assert got == {"B": 0, "A": 45}


def test_overbooked_window_names_appointment():
    apps = _apps(
        [
            {"appointment_id": "first", "duration": 60, "earliest_start": 0, "latest_end": 90},
            {"appointment_id": "second", "duration": 60, "earliest_start": 0, "latest_end": 100},
        ]
    )
    with pytest.raises(InfeasibleError) as exc:
        schedule_docks(apps, DOORS)
    assert exc.value.constraint == "door_capacity"
    assert "appointment second" in str(exc.value) and "D1" in str(exc.value)


def test_no_compatible_door():
    apps = _apps(
        [{"appointment_id": "X", "duration": 30, "earliest_start": 0, "latest_end": 60, "needs_reefer": True}]
    )
    with pytest.raises(InfeasibleError, match="appointment X needs an inbound reefer door"):
        schedule_docks(apps, DOORS)


def test_window_shorter_than_duration():
    apps = _apps([{"appointment_id": "X", "duration": 60, "earliest_start": 10, "latest_end": 70}])
    with pytest.raises(InfeasibleError) as exc:
        schedule_docks(apps, DOORS)  # slots of 15: earliest start 15, 15 + 60 > 70
    assert exc.value.constraint == "time_window"


def test_bad_input():
    with pytest.raises(ValueError, match="direction"):
        schedule_docks(
            _apps(
                [
                    {
                        "appointment_id": "X",
                        "duration": 5,
                        "earliest_start": 0,
                        "latest_end": 60,
                        "direction": "sideways",
                    }
                ]
            ),
            DOORS,
        )
    with pytest.raises(ValueError, match="latest_end"):
        schedule_docks(
            pl.DataFrame(
                {"appointment_id": ["X"], "direction": ["inbound"], "duration": [5], "earliest_start": [0]}
            ),
            DOORS,
        )


def _single_door_optimum(apps: list[dict], cfg: DockConfig) -> int | None:
    """Best objective over all sequences, each scheduled as early as possible (optimal for a
    fixed sequence because the objective is non-decreasing in every start time)."""
    best = None
    for perm in itertools.permutations(apps):
        t, late, end = 0, 0, 0
        ok = True
        for a in perm:
            s = max(t, a["earliest_start"])
            s = -(-s // cfg.slot_minutes) * cfg.slot_minutes
            if s + a["duration"] > a["latest_end"]:
                ok = False
                break
            late += a["priority"] * max(0, s - a["earliest_start"])
            end = s + a["duration"]
            t = end + cfg.changeover_minutes
        if ok:
            obj = cfg.lateness_weight * late + end
            best = obj if best is None else min(best, obj)
    return best


@st.composite
def single_door(draw):
    n = draw(st.integers(1, 5))
    apps = []
    for i in range(n):
        e = draw(st.integers(0, 12)) * 10
        d = draw(st.sampled_from([15, 30, 45, 60]))
        apps.append(
            {
                "appointment_id": f"A{i}",
                "direction": "inbound",
                "duration": d,
                "earliest_start": e,
                "latest_end": e + d + draw(st.integers(0, 300)),
                "priority": draw(st.integers(1, 3)),
                "needs_reefer": False,
            }
        )
    return apps


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(single_door())
def test_single_door_matches_brute_force(apps):
    cfg = DockConfig(time_limit_s=5)
    best = _single_door_optimum(apps, cfg)
    if best is None:
        with pytest.raises(InfeasibleError):
            schedule_docks(pl.DataFrame(apps), DOORS, cfg)
        return
    res = schedule_docks(pl.DataFrame(apps), DOORS, cfg)
    assert res.summary["objective"] == best


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["inbound", "outbound"]),
            st.booleans(),
            st.integers(0, 20),
            st.sampled_from([15, 30, 60]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_doors_never_double_booked(specs):
    doors = pl.DataFrame(
        {"door": ["I1", "O1", "B1"], "kind": ["inbound", "outbound", "both"], "reefer": [False, False, True]}
    )
    apps = pl.DataFrame(
        [
            {
                "appointment_id": f"A{i}",
                "direction": d,
                "needs_reefer": r,
                "duration": dur,
                "earliest_start": e * 15,
                "latest_end": 24 * 60,
                "priority": 1,
            }
            for i, (d, r, e, dur) in enumerate(specs)
        ]
    )
    res = schedule_docks(apps, doors, DockConfig(time_limit_s=5))
    sched = res.schedule.join(apps, on="appointment_id").join(doors, on="door")
    for r in sched.to_dicts():
        assert r["start"] >= r["earliest_start"] and r["end"] <= r["latest_end"] and r["start"] % 15 == 0
        assert r["kind"] in (r["direction"], "both") and (r["reefer"] or not r["needs_reefer"])
    for _, g in sched.group_by("door"):
        rows = sorted(zip(g["start"], g["end"], strict=True))
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(rows))
