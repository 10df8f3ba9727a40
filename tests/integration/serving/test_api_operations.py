"""The operations routes and API keys against a real PostgreSQL (TestClient in-process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories.oltp import seed_master_data
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from oltp.db import get_engine, session_scope
from oltp.models import ApiKey
from oltp.orders import get_order
from oltp.picking import confirm_pick, release_wave
from oltp.shipments import ship
from serving.apikeys import create_api_key, hash_key
from stockyard.errors import ConflictError, ValidationError

T0 = dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC)


class NoRegistry:
    """No model is registered (these tests exercise the operations routes only)."""

    def resolve(self, name: str, alias: str) -> str:
        raise LookupError(f"no version of {name!r} has the alias {alias!r} in the registry")

    def load(self, name: str, version: str) -> Any:  # pragma: no cover - never reached
        raise AssertionError


@pytest.fixture
def engine(stockyard_home: Path, pg_uri: str) -> Iterator[Engine]:
    eng = get_engine(pg_uri)
    with session_scope(eng) as s:
        seed_master_data(s, warehouses=2, items=5, customers=2, stock_per_item=100, stocked_warehouses=1)
    yield eng


@pytest.fixture
def client(engine: Engine, pg_uri: str) -> Iterator[TestClient]:
    from serving.main import create_app
    from stockyard.settings import get_settings

    app = create_app(get_settings(), db_uri=pg_uri, model_loader=NoRegistry(), model_poll_interval_s=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _key(engine: Engine, name: str, *scopes: str) -> dict[str, str]:
    with session_scope(engine) as s:
        key = create_api_key(session=s, name=name, scopes=scopes)
    return {"Authorization": f"Bearer {key}"}


def test_api_key_is_stored_hashed_and_verified(engine: Engine, client: TestClient) -> None:
    headers = _key(engine, "ops-dashboard", "inventory:read")
    plaintext = headers["Authorization"].removeprefix("Bearer ")
    with session_scope(engine) as s:
        row = s.scalars(select(ApiKey).where(ApiKey.name == "ops-dashboard")).one()
        assert row.key_hash == hash_key(plaintext) and plaintext not in (row.key_hash, row.prefix, row.scopes)
        assert plaintext.startswith(f"sy_{row.prefix}_")
        assert row.last_used_at is None
    assert client.get("/v1/inventory", headers=headers).status_code == 200
    with session_scope(engine) as s:
        assert s.scalars(select(ApiKey).where(ApiKey.name == "ops-dashboard")).one().last_used_at is not None
    assert (
        client.get(
            "/v1/inventory", headers={"Authorization": headers["Authorization"][:-2] + "xx"}
        ).status_code
        == 401
    )
    assert client.post("/v1/orders", json={}, headers=headers).status_code == 403
    with session_scope(engine) as s:
        with pytest.raises(ConflictError):
            create_api_key(session=s, name="ops-dashboard", scopes=["admin"])
        with pytest.raises(ValidationError) as info:
            create_api_key(session=s, name="other", scopes=["orders:delete"])
        assert info.value.field == "scopes"


def test_revoked_key_stops_working_once_the_cache_expires(engine: Engine, pg_uri: str) -> None:
    from serving.auth import SqlKeyStore
    from serving.main import create_app
    from stockyard.settings import get_settings

    store = SqlKeyStore(lambda: engine, ttl_s=0.0)
    app = create_app(
        get_settings(), db_uri=pg_uri, key_store=store, model_loader=NoRegistry(), model_poll_interval_s=0
    )
    headers = _key(engine, "temp", "inventory:read")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/inventory", headers=headers).status_code == 200
        with session_scope(engine) as s:
            s.execute(update(ApiKey).where(ApiKey.name == "temp").values(is_active=False))
        assert client.get("/v1/inventory", headers=headers).status_code == 401


def test_orders_are_idempotent(engine: Engine, client: TestClient) -> None:
    headers = _key(engine, "shop", "orders:write", "orders:read", "inventory:read")
    body = {"customer": "CUST001", "warehouse": "WH1", "lines": [{"item": "ITEM001", "quantity": 10}]}
    first = client.post("/v1/orders", json=body, headers={**headers, "Idempotency-Key": "order-42"})
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["status"] == "allocated"
    assert order["lines"] == [
        {"item": "ITEM001", "quantity": 10, "allocated_quantity": 10, "backordered_quantity": 0}
    ]
    again = client.post("/v1/orders", json=body, headers={**headers, "Idempotency-Key": "order-42"})
    assert again.status_code == 200
    assert again.json() == order
    other = {**body, "lines": [{"item": "ITEM001", "quantity": 11}]}
    conflict = client.post("/v1/orders", json=other, headers={**headers, "Idempotency-Key": "order-42"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    # One order, stock reserved once.
    inventory = client.get(
        "/v1/inventory", params={"item": "ITEM001", "warehouse": "WH1"}, headers=headers
    ).json()
    assert inventory == [
        {"item": "ITEM001", "warehouse": "WH1", "on_hand": 100, "reserved": 10, "available": 90}
    ]
    read = client.get(f"/v1/orders/{order['id']}", headers=headers)
    assert read.status_code == 200 and read.json() == order
    # Without a key, each POST is a new order; the backorder shows when stock runs out.
    big = {"customer": "CUST002", "lines": [{"item": "ITEM001", "quantity": 95}]}
    partial = client.post("/v1/orders", json=big, headers=headers).json()
    assert partial["id"] != order["id"]
    assert partial["lines"][0]["allocated_quantity"] + partial["lines"][0]["backordered_quantity"] == 95
    assert partial["lines"][0]["allocated_quantity"] == 90


def test_unknown_codes_and_ids_are_404(engine: Engine, client: TestClient) -> None:
    headers = _key(engine, "shop", "admin")
    bad_item = {"customer": "CUST001", "lines": [{"item": "NOPE", "quantity": 1}]}
    response = client.post("/v1/orders", json=bad_item, headers=headers)
    assert response.status_code == 404 and response.json()["field"] == "lines[0].item"
    response = client.post("/v1/orders", json={**bad_item, "customer": "NOBODY"}, headers=headers)
    assert response.status_code == 404 and response.json()["field"] == "customer"
    assert client.get("/v1/orders/999999", headers=headers).status_code == 404
    assert client.get("/v1/inventory", params={"warehouse": "WH9"}, headers=headers).status_code == 404
    assert client.get("/v1/inventory", params={"item": "NOPE"}, headers=headers).status_code == 404
    assert client.post("/v1/shipments/999999/events", json={"event_type": "in_transit", "occurred_at": T0.isoformat()},
                       headers=headers).status_code == 404  # fmt: skip


def test_tracking_events_move_the_shipment(engine: Engine, client: TestClient) -> None:
    headers = _key(engine, "carrier-feed", "orders:write", "shipments:write")
    body = {"customer": "CUST001", "warehouse": "WH1", "lines": [{"item": "ITEM001", "quantity": 5}]}
    order_id = client.post("/v1/orders", json=body, headers=headers).json()["id"]
    with session_scope(engine) as s:
        wave = release_wave(session=s, warehouse="WH1", order_ids=[order_id], released_at=T0)
    assert wave is not None
    for task in wave.tasks:
        with session_scope(engine) as s:
            confirm_pick(session=s, task_id=task.id, quantity=task.quantity, picked_at=T0)
    with session_scope(engine) as s:
        shipment = ship(session=s, order_id=order_id, carrier="PARCELNET", service="GROUND", shipped_at=T0)
    event = {"event_type": "in_transit", "occurred_at": "2024-02-02T08:00:00+00:00", "external_id": "scan-1",
             "location_text": "Hub A"}  # fmt: skip
    first = client.post(f"/v1/shipments/{shipment.id}/events", json=event, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["shipment_status"] == "in_transit" and first.json()["duplicate"] is False
    repeat = client.post(f"/v1/shipments/{shipment.id}/events", json=event, headers=headers)
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert repeat.json()["event_id"] == first.json()["event_id"]
    delivered = {"event_type": "delivered", "occurred_at": "2024-02-03T12:00:00+00:00"}
    assert (
        client.post(f"/v1/shipments/{shipment.id}/events", json=delivered, headers=headers).json()[
            "shipment_status"
        ]
        == "delivered"
    )
    with session_scope(engine) as s:
        assert get_order(session=s, order_id=order_id).status == "delivered"
    naive = {"event_type": "delayed", "occurred_at": "2024-02-02T08:00:00"}
    response = client.post(f"/v1/shipments/{shipment.id}/events", json=naive, headers=headers)
    assert response.status_code == 422 and response.json()["field"] == "occurred_at"


def test_cli_apikey_create_prints_the_key_once(engine: Engine, client: TestClient) -> None:
    from typer.testing import CliRunner

    from stockyard.cli import app

    result = CliRunner().invoke(
        app, ["apikey", "create", "planner", "--scope", "plans:read", "--scope", "inventory:read"]
    )
    assert result.exit_code == 0, result.output
    key = next(line for line in result.output.splitlines() if line.startswith("sy_"))
    assert client.get("/v1/inventory", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    dup = CliRunner().invoke(app, ["apikey", "create", "planner", "--scope", "admin"])
    assert dup.exit_code != 0 and "already exists" in dup.output
    bad = CliRunner().invoke(app, ["apikey", "create", "x", "--scope", "root"])
    assert bad.exit_code != 0 and "unknown scope" in bad.output
