"""The model holder: load by alias, hot swap without dropping requests, 503 without a model."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from serving.models import ModelManager, ModelUnavailableError
from unit.serving.api_fakes import FakeLoader, bearer, build_app

FORECAST = {"item": "SKU-1", "warehouse": "WH-1", "horizon": 3}


def test_refresh_swaps_only_when_alias_moves() -> None:
    loader = FakeLoader({"demand_forecast": "1"})
    seen: list[tuple[str, str | None]] = []
    manager = ModelManager(loader, ["demand_forecast"], on_change=lambda n, v: seen.append((n, v)))
    holder = manager.holder("demand_forecast")
    with pytest.raises(ModelUnavailableError):
        holder.get()
    assert manager.refresh("demand_forecast") is True
    in_flight = holder.get()  # a request that started before the swap keeps its reference
    assert manager.refresh("demand_forecast") is False
    loader.versions["demand_forecast"] = "2"
    assert manager.refresh("demand_forecast") is True
    assert holder.get().version == "2"
    assert in_flight.version == "1" and in_flight.model.offset == 1.0
    assert seen == [("demand_forecast", "1"), ("demand_forecast", "2")]


def test_failed_load_keeps_serving_the_old_version() -> None:
    loader = FakeLoader({"demand_forecast": "1"})
    manager = ModelManager(loader, ["demand_forecast"])
    manager.refresh("demand_forecast")
    loader.versions["demand_forecast"] = "2"
    loader.fail_versions.add("2")
    assert manager.refresh("demand_forecast") is False
    holder = manager.holder("demand_forecast")
    assert holder.get().version == "1"
    assert "corrupt artefact v2" in holder.status()["reason"]
    assert holder.status()["status"] == "degraded"


def test_no_model_is_503_with_the_reason(settings, key_store, admin_key) -> None:
    app = build_app(settings, key_store, FakeLoader({}))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key))
    assert response.status_code == 503
    assert response.json()["code"] == "model_unavailable"
    assert "no version of 'demand_forecast' has the alias 'champion'" in response.json()["detail"]


def test_forecast_shape_and_errors(client: TestClient, admin_key: str) -> None:
    response = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key))
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "1"
    assert [p["date"] for p in body["forecast"]] == ["2025-02-01", "2025-02-02", "2025-02-03"]
    assert [p["p50"] for p in body["forecast"]] == [11.0, 21.0, 31.0]
    assert all(p["p10"] <= p["p50"] <= p["p90"] for p in body["forecast"])
    unknown = client.post("/v1/forecast", json={**FORECAST, "item": "NOPE"}, headers=bearer(admin_key))
    assert unknown.status_code == 404 and unknown.json()["field"] == "item"
    unknown_wh = client.post(
        "/v1/forecast", json={**FORECAST, "warehouse": "NOPE"}, headers=bearer(admin_key)
    )
    assert unknown_wh.status_code == 404 and unknown_wh.json()["field"] == "warehouse"


def test_lifespan_poller_swaps_the_champion_while_serving(settings, key_store, admin_key) -> None:
    loader = FakeLoader({"demand_forecast": "1"})
    app = build_app(settings, key_store, loader, model_poll_interval_s=0.05)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert (
            client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key)).json()["model_version"]
            == "1"
        )
        loader.versions["demand_forecast"] = "2"
        versions = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            response = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key))
            assert response.status_code == 200  # no request dropped during the swap
            versions.add(response.json()["model_version"])
            if response.json()["model_version"] == "2":
                break
        assert response.json()["model_version"] == "2"
        assert response.json()["forecast"][0]["p50"] == 12.0  # the new model answered
        assert 'stockyard_model_info{model="demand_forecast",version="2"} 1.0' in client.get("/metrics").text
        assert 'version="1"' not in client.get("/metrics").text


def test_forecast_answers_are_cached_per_model_version(
    client: TestClient, admin_key: str, loader: FakeLoader, app
) -> None:
    from serving.models import FORECAST_MODEL

    holder = app.state.serving.models.holder(FORECAST_MODEL)
    first = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key)).json()
    second = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key)).json()
    assert first == second and holder.get().model.calls == 1  # the second answer came from the cache
    client.post("/v1/forecast", json={**FORECAST, "horizon": 4}, headers=bearer(admin_key))
    assert holder.get().model.calls == 2  # another horizon is another input
    loader.versions["demand_forecast"] = "2"
    app.state.serving.models.refresh("demand_forecast")
    swapped = client.post("/v1/forecast", json=FORECAST, headers=bearer(admin_key)).json()
    assert swapped["model_version"] == "2" and holder.get().model.calls == 1  # a new version starts cold
