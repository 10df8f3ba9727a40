"""Authentication, the scope matrix and rate limiting (TestClient, in-memory keys)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.apikeys import SCOPES, hash_key, key_matches, parse_key
from serving.auth import InMemoryKeyStore, RateLimiter
from unit.serving.api_fakes import FakeLoader, bearer, build_app, make_key

ORDER = {"customer": "C-1", "lines": [{"item": "SKU-1", "quantity": 2}]}
EVENT = {"event_type": "picked_up", "occurred_at": "2025-01-01T10:00:00Z"}
ROUTE = {"distance_matrix": [[0, 1], [1, 0]], "demands": [0, 1], "vehicle_capacity": 5, "time_limit_s": 0.1}

# (method, path, json body, scope needed)
MATRIX = [
    ("POST", "/v1/orders", ORDER, "orders:write"),
    ("GET", "/v1/orders/1", None, "orders:read"),
    ("GET", "/v1/inventory", None, "inventory:read"),
    ("POST", "/v1/shipments/1/events", EVENT, "shipments:write"),
    ("POST", "/v1/forecast", {"item": "SKU-1", "warehouse": "WH-1", "horizon": 3}, "inference:read"),
    ("POST", "/v1/routes/solve", ROUTE, "inference:read"),
    ("GET", "/v1/slotting/WH-1", None, "plans:read"),
    ("GET", "/v1/replenishment", None, "plans:read"),
]


def _call(client: TestClient, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    return client.request(method, path, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "body", "scope"), MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_scope_matrix(
    client: TestClient, key_store: InMemoryKeyStore, method: str, path: str, body: object, scope: str
) -> None:
    # No key, a malformed key, a well-formed unknown key, a revoked key: 401.
    assert _call(client, method, path, body, {}) == 401
    assert _call(client, method, path, body, bearer("not-a-key")) == 401
    assert _call(client, method, path, body, bearer("sy_deadbeef_" + "x" * 43)) == 401
    revoked = make_key(key_store, "revoked", {scope}, active=False)
    assert _call(client, method, path, body, bearer(revoked)) == 401
    # Every other scope but this one: 403.
    others = make_key(key_store, "others", SCOPES - {scope, "admin"})
    assert _call(client, method, path, body, bearer(others)) == 403
    # The scope itself, or admin: past auth (the route answers; the unit app has no database -> 503 there).
    for key in (make_key(key_store, "exact", {scope}), make_key(key_store, "root", {"admin"})):
        assert _call(client, method, path, body, bearer(key)) not in (401, 403)


def test_401_says_how_to_authenticate(client: TestClient) -> None:
    response = client.get("/v1/inventory")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


def test_wrong_secret_with_known_prefix_is_401(client: TestClient, key_store: InMemoryKeyStore) -> None:
    key = make_key(key_store, "k", {"admin"})
    prefix = parse_key(key)
    forged = f"sy_{prefix}_{'A' * 43}"
    assert client.get("/v1/replenishment", headers=bearer(forged)).status_code == 401


def test_health_and_metrics_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_key_format_and_hash() -> None:
    key = "sy_0123abcd_" + "Zz-_" * 11
    assert parse_key(key) == "0123abcd"
    assert parse_key("sy_0123abcd_short") is None
    assert parse_key("xx_0123abcd_" + "a" * 43) is None
    from serving.apikeys import StoredKey

    stored = StoredKey("n", "0123abcd", hash_key(key), frozenset({"admin"}))
    assert key_matches(key, stored)
    assert not key_matches(key + "a", stored)


def test_rate_limit_429_with_retry_after(settings, key_store: InMemoryKeyStore, loader: FakeLoader) -> None:
    app = build_app(settings, key_store, loader, rate_limit_per_minute=3)
    limited = make_key(key_store, "limited", {"plans:read"})
    other = make_key(key_store, "other", {"plans:read"})
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [client.get("/v1/replenishment", headers=bearer(limited)).status_code for _ in range(4)]
        assert codes[:3] == [503, 503, 503]  # plan not built: past the limiter
        assert codes[3] == 429
        refused = client.get("/v1/replenishment", headers=bearer(limited))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["code"] == "rate_limited"
        # Buckets are per key.
        assert client.get("/v1/replenishment", headers=bearer(other)).status_code == 503
        assert 'stockyard_rate_limited_total{key="' in client.get("/metrics").text


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one token a second, burst 60
    assert all(limiter.acquire("k") is None for _ in range(60))
    wait = limiter.acquire("k")
    assert wait is not None and 0.9 < wait <= 1.0
    now[0] += 1.0
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") is not None
    assert RateLimiter(0).acquire("k") is None  # disabled
