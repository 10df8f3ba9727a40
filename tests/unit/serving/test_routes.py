"""Routing and plan routes (real solver, real Parquet in tmp_path)."""

from __future__ import annotations

import polars as pl
from fastapi.testclient import TestClient

from unit.serving.api_fakes import bearer


def test_solve_small_cvrp(client: TestClient, admin_key: str) -> None:
    body = {
        "coordinates": [[0, 0], [0, 10], [10, 0], [0, -10], [-10, 0]],
        "metric": "euclidean",
        "depot": 0,
        "demands": [0, 3, 3, 3, 3],
        "vehicle_capacity": 6,
        "time_limit_s": 0.2,
    }
    response = client.post("/v1/routes/solve", json=body, headers=bearer(admin_key))
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["feasible"] is True
    assert sorted(n for r in out["routes"] for n in r) == [1, 2, 3, 4]
    assert all(load <= 6 for load in out["route_loads"])
    assert out["total_distance"] == sum(out["route_distances"])
    assert out["vehicles_used"] == len(out["routes"]) == 2


def test_solve_rejects_bad_and_infeasible_input(client: TestClient, admin_key: str) -> None:
    not_square = {
        "distance_matrix": [[0, 1], [1]],
        "demands": [0, 1],
        "vehicle_capacity": 5,
        "time_limit_s": 0.1,
    }
    response = client.post("/v1/routes/solve", json=not_square, headers=bearer(admin_key))
    assert response.status_code == 422 and response.json()["field"] == "distance_matrix"
    too_big = {
        "distance_matrix": [[0, 1], [1, 0]],
        "demands": [0, 9],
        "vehicle_capacity": 5,
        "time_limit_s": 0.1,
    }
    response = client.post("/v1/routes/solve", json=too_big, headers=bearer(admin_key))
    assert response.status_code == 422 and response.json()["field"] == "capacity"
    no_nodes = {"demands": [0], "vehicle_capacity": 5}
    response = client.post("/v1/routes/solve", json=no_nodes, headers=bearer(admin_key))
    assert response.status_code == 422 and response.json()["field"] == "distance_matrix"


def test_plans_503_until_built_then_filtered(client: TestClient, admin_key: str, settings) -> None:
    response = client.get("/v1/replenishment", headers=bearer(admin_key))
    assert response.status_code == 503 and "not been built" in response.json()["detail"]
    settings.gold_dir.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "item": ["A", "B", "A"],
            "warehouse": ["W1", "W1", "W2"],
            "urgency": ["high", "low", "low"],
            "qty": [1.0, float("nan"), 3.0],
        }
    ).write_parquet(settings.gold_dir / "fct_replenishment_plan.parquet")
    pl.DataFrame({"item": ["A", "B"], "warehouse": ["W1", "W2"], "to_location": ["L1", "L2"]}).write_parquet(
        settings.gold_dir / "fct_slotting_plan.parquet"
    )
    body = client.get("/v1/replenishment", params={"item": "A"}, headers=bearer(admin_key)).json()
    assert body["count"] == 2 and {r["warehouse"] for r in body["rows"]} == {"W1", "W2"}
    body = client.get(
        "/v1/replenishment", params={"warehouse": "W1", "urgency": "low"}, headers=bearer(admin_key)
    ).json()
    assert body["rows"] == [{"item": "B", "warehouse": "W1", "urgency": "low", "qty": None}]
    slotting = client.get("/v1/slotting/W2", headers=bearer(admin_key))
    assert slotting.status_code == 200 and slotting.json()["rows"][0]["to_location"] == "L2"
    assert client.get("/v1/slotting/W9", headers=bearer(admin_key)).status_code == 404
