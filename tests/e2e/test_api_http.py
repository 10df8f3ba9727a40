"""The API over real HTTP: ``stockyard serve`` in a subprocess, real PostgreSQL, models in a real MLflow registry.

A small simulated demand history and shipment set train tiny LightGBM models that are logged as the project's
pyfuncs and given the ``champion`` alias; the server loads them from the registry in its lifespan.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import schemathesis
from factories.oltp import seed_master_data
from hypothesis import HealthCheck, settings
from psycopg import sql
from sqlalchemy import Engine

from oltp.db import get_engine, session_scope
from oltp.picking import confirm_pick, release_wave
from oltp.shipments import ship

T0 = dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC)


@dataclass
class Server:
    base_url: str
    key: str
    engine: Engine
    home: Path
    history: object
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _register_models(tracking_uri: str, history: object) -> None:
    """Train tiny demand and ETA models and make them the champions (as the ML pipeline would)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    from ml.eta.synthetic import generate_shipments
    from ml.eta.tracking import EtaPyfunc
    from ml.eta.train import EtaConfig, train_eta_model
    from ml.forecasting.config import ForecastConfig
    from ml.forecasting.features import build_inference_features
    from ml.forecasting.tracking import DemandForecastPyfunc
    from ml.forecasting.train import train_model

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    config = ForecastConfig(
        num_boost_round=30, num_leaves=15, min_data_in_leaf=20, num_threads=1, max_train_rows=20_000
    )
    forecast_model = train_model(history, config)
    example = build_inference_features(history, horizon=28).head(3).to_pandas()
    shipments, _ = generate_shipments(400, seed=1)
    eta_model = train_eta_model(shipments, EtaConfig(num_boost_round=30, num_threads=1))
    from ml.eta.features import build_eta_features

    eta_example = build_eta_features(shipments.head(3)).drop("actual_transit_days", strict=False).to_pandas()
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        for name, pyfunc, key, model, ex in (
            ("demand_forecast", DemandForecastPyfunc(), "forecast_model", forecast_model, example),
            ("shipment_eta", EtaPyfunc(), "eta_model", eta_model, eta_example),
        ):
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=pyfunc,
                artifacts={key: str(model.save(Path(tmp) / key))},
                signature=infer_signature(ex, model.predict(ex).to_pandas()),
                registered_model_name=name,
                pip_requirements=["mlflow", "lightgbm", "polars", "pandas"],
            )
            client.set_registered_model_alias(name, "champion", info.registered_model_version)


@pytest.fixture(scope="module")
def server(pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from ml.forecasting.synthetic import generate_demand
    from stockyard.pg import with_database

    name = f"sy_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(pg_template)
            )
        )
    uri = with_database(pg_server, name)
    engine = get_engine(uri)
    home = tmp_path_factory.mktemp("e2e_home")
    with session_scope(engine) as s:
        seed_master_data(s, warehouses=2, items=5, customers=2, stock_per_item=100, stocked_warehouses=1)
        from serving.apikeys import create_api_key

        key = create_api_key(session=s, name="e2e", scopes=["admin"])
    history, _ = generate_demand(n_items=6, n_warehouses=2, n_days=420, seed=3)
    gold = home / "lake" / "gold"
    gold.mkdir(parents=True)
    history.write_parquet(gold / "fct_demand_daily.parquet")
    import polars as pl

    # Plans as the pipeline would write them (the API serves whatever columns the plan has).
    pl.DataFrame(
        {"item": ["ITEM001", "ITEM002"], "warehouse": ["WH1", "WH1"], "from_location": ["WH1-AMB-R1", None],
         "to_location": ["WH1-AMB-P1", "WH1-AMB-P2"], "expected_saving": [12.5, 3.0]}
    ).write_parquet(gold / "fct_slotting_plan.parquet")  # fmt: skip
    pl.DataFrame(
        {"item": ["ITEM001", "ITEM003"], "warehouse": ["WH1", "WH2"], "urgency": ["high", "normal"],
         "order_quantity": [120, 40]}
    ).write_parquet(gold / "fct_replenishment_plan.parquet")  # fmt: skip
    tracking_uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    (home / "mlflow").mkdir()
    _register_models(tracking_uri, history)

    port = _free_port()
    env = os.environ | {
        "STOCKYARD_HOME": str(home),
        "STOCKYARD_PG_DSN": uri,
        "STOCKYARD_MLFLOW_TRACKING_URI": tracking_uri,
        "STOCKYARD_API_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    log_path = home / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("stockyard")), "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Server(base, key, engine, home, history, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        engine.dispose()
        from oltp.db import _engine_for

        _engine_for.cache_clear()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_operations_and_inference_over_http(server: Server) -> None:
    http = httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30)
    health = httpx.get(f"{server.base_url}/healthz").json()
    assert health["dependencies"]["db"]["status"] == "ok"
    assert health["dependencies"]["model_registry"]["status"] == "ok", health
    assert health["dependencies"]["feature_store"]["status"] == "ok"

    # The same order twice with one Idempotency-Key: one order.
    body = {"customer": "CUST001", "warehouse": "WH1", "lines": [{"item": "ITEM001", "quantity": 4}]}
    first = http.post(
        "/v1/orders", json=body, headers={"Idempotency-Key": "e2e-1", "X-Request-ID": "e2e-req-1"}
    )
    assert first.status_code == 201, first.text
    assert first.headers["x-request-id"] == "e2e-req-1"
    again = http.post("/v1/orders", json=body, headers={"Idempotency-Key": "e2e-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert (
        http.post(
            "/v1/orders", json={**body, "customer": "CUST002"}, headers={"Idempotency-Key": "e2e-1"}
        ).status_code
        == 409
    )
    order_id = first.json()["id"]
    assert http.get(f"/v1/orders/{order_id}").json()["status"] == "allocated"

    # Ship it through the services, then the carrier reports over the API.
    with session_scope(server.engine) as s:
        wave = release_wave(session=s, warehouse="WH1", order_ids=[order_id], released_at=T0)
    assert wave is not None
    for task in wave.tasks:
        with session_scope(server.engine) as s:
            confirm_pick(session=s, task_id=task.id, quantity=task.quantity, picked_at=T0)
    with session_scope(server.engine) as s:
        shipment = ship(session=s, order_id=order_id, carrier="PARCELNET", service="GROUND", shipped_at=T0)
    event = {"event_type": "in_transit", "occurred_at": "2024-02-02T06:00:00Z", "external_id": "e2e-scan-1"}
    posted = http.post(f"/v1/shipments/{shipment.id}/events", json=event)
    assert posted.status_code == 201 and posted.json()["shipment_status"] == "in_transit"
    assert (
        http.get("/v1/inventory", params={"item": "ITEM001", "warehouse": "WH1"}).json()[0]["on_hand"] == 96
    )

    # A small route.
    route = {"coordinates": [[0, 0], [0, 5], [5, 0], [0, -5], [-5, 0], [3, 3]], "metric": "euclidean",
             "demands": [0, 2, 2, 2, 2, 2], "vehicle_capacity": 6, "max_vehicles": 3, "time_limit_s": 0.3}  # fmt: skip
    solved = http.post("/v1/routes/solve", json=route).json()
    assert solved["feasible"] and sorted(n for r in solved["routes"] for n in r) == [1, 2, 3, 4, 5]

    # The served forecast equals the batch forecast of the champion on the same history.
    import mlflow
    import polars as pl

    from ml.forecasting.predict import batch_forecast

    answer = http.post("/v1/forecast", json={"item": "SKU0001", "warehouse": "WH01", "horizon": 28})
    assert answer.status_code == 200, answer.text
    served = answer.json()
    assert served["model_version"] == "1" and len(served["forecast"]) == 28
    mlflow.set_tracking_uri(f"sqlite:///{server.home / 'mlflow' / 'mlflow.db'}")
    champion = mlflow.pyfunc.load_model("models:/demand_forecast@champion")
    batch = (
        batch_forecast(champion, server.history, horizon=28)
        .filter((pl.col("item") == "SKU0001") & (pl.col("warehouse") == "WH01"))
        .sort("date")
    )
    assert [p["date"] for p in served["forecast"]] == [d.isoformat() for d in batch["date"]]
    for point, row in zip(served["forecast"], batch.iter_rows(named=True), strict=True):
        assert point["p50"] == pytest.approx(row["p50"], rel=1e-9, abs=1e-9)
        assert point["p10"] == pytest.approx(row["p10"], rel=1e-9, abs=1e-9)
        assert point["p90"] == pytest.approx(row["p90"], rel=1e-9, abs=1e-9)
    assert http.post("/v1/forecast", json={"item": "NOPE", "warehouse": "WH01"}).status_code == 404

    # ETA of the recorded shipment, and of a shipment described by its attributes.
    eta = http.post("/v1/eta", json={"shipment_id": shipment.id})
    assert eta.status_code == 200, eta.text
    out = eta.json()
    assert out["ship_date"] == "2024-02-01"
    assert out["earliest_delivery_date"] <= out["predicted_delivery_date"] <= out["latest_delivery_date"]
    quote = http.post("/v1/eta", json={"carrier": "PARCELNET", "service": "GROUND", "origin_warehouse": "WH1",
                                        "destination_region": "north", "weight_kg": 3.5})  # fmt: skip
    assert quote.status_code == 200, quote.text
    assert http.post("/v1/eta", json={"carrier": "PARCELNET"}).status_code == 422

    slotting = http.get("/v1/slotting/WH1").json()
    assert slotting["count"] == 2 and slotting["rows"][0]["to_location"] == "WH1-AMB-P1"
    urgent = http.get("/v1/replenishment", params={"urgency": "high"}).json()
    assert [r["item"] for r in urgent["rows"]] == ["ITEM001"]

    metrics = httpx.get(f"{server.base_url}/metrics").text
    assert 'stockyard_model_info{model="demand_forecast",version="1"} 1.0' in metrics
    assert 'stockyard_model_info{model="shipment_eta",version="1"} 1.0' in metrics
    assert 'route="/v1/orders",status="201"' in metrics
    lines = [json.loads(x) for x in server.log_path.read_text().splitlines() if x.startswith("{")]
    assert any(x.get("request_id") == "e2e-req-1" and x.get("route") == "/v1/orders" for x in lines)


def test_no_server_errors(server: Server) -> None:
    """Schemathesis against the served OpenAPI with a valid key: no input gets a 5xx."""
    from hypothesis import given

    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            if isinstance(case.body, dict) and "time_limit_s" in case.body:
                case.body["time_limit_s"] = (
                    0.05  # keep the solver bounded; the field's validity is not at stake
                )
            response = case.call(base_url=server.base_url, headers=server.headers, timeout=30)
            calls += 1
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
            )

        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert calls > 100
    assert not failures, "\n".join(failures)
