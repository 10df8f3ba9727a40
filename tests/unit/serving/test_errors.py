"""Error mapping, request ids, metrics and the no-500 guarantee (TestClient)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.logging import JsonFormatter
from stockyard.errors import ConflictError, NotFoundError, ValidationError
from unit.serving.api_fakes import bearer


def test_validation_422_names_the_field(client: TestClient, admin_key: str) -> None:
    body = {"customer": "C-1", "lines": [{"item": "SKU-1", "quantity": 0}]}
    response = client.post("/v1/orders", json=body, headers=bearer(admin_key))
    assert response.status_code == 422
    payload = response.json()
    assert payload["field"] == "lines.0.quantity"
    assert payload["code"] == "validation_error"
    assert "lines.0.quantity" in payload["detail"]


def test_horizon_above_28_is_422(client: TestClient, admin_key: str) -> None:
    response = client.post(
        "/v1/forecast", json={"item": "SKU-1", "warehouse": "WH-1", "horizon": 29}, headers=bearer(admin_key)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "horizon"


def test_control_characters_in_codes_are_422(client: TestClient, admin_key: str) -> None:
    response = client.get("/v1/inventory", params={"item": "a\x00b"}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.json()["field"] == "item"


def test_out_of_range_ids_are_422_not_500(client: TestClient, admin_key: str) -> None:
    assert client.get(f"/v1/orders/{2**40}", headers=bearer(admin_key)).status_code == 422


def test_unknown_path_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_database_outage_is_503(client: TestClient, admin_key: str) -> None:
    response = client.get("/v1/orders/1", headers=bearer(admin_key))
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (NotFoundError("unknown item 'X'", field="item"), 404, "not_found"),
        (ValidationError("bad quantity", field="quantity"), 422, "validation_error"),
        (ConflictError("idempotency key reused", field="idempotency_key"), 409, "conflict"),
    ],
)
def test_domain_errors_map_to_status(
    app: FastAPI, admin_key: str, exc: Exception, status: int, code: str
) -> None:
    @app.get("/boom-domain")
    def boom() -> None:
        raise exc

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom-domain")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["field"] == exc.field  # type: ignore[attr-defined]


def test_bug_is_logged_with_request_id_and_answered_500_json(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom-bug")
    def boom() -> None:
        raise RuntimeError("a genuine bug")

    with (
        caplog.at_level(logging.ERROR, logger="serving.errors"),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        response = client.get("/boom-bug", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal server error",
        "code": "internal_error",
        "request_id": "req-123",
    }
    assert response.headers["x-request-id"] == "req-123"
    record = next(r for r in caplog.records if r.name == "serving.errors")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-123"
    assert "a genuine bug" in line["exc_info"]


def test_request_id_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-1"}).headers["x-request-id"] == "abc-1"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    # An unsafe incoming id (log injection) is replaced.
    assert client.get("/healthz", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"] != "a b\tc"


def test_metrics_by_route_template_and_model_version(client: TestClient, admin_key: str) -> None:
    client.get("/v1/orders/7", headers=bearer(admin_key))
    client.get("/v1/orders/8", headers=bearer(admin_key))
    client.get("/v1/does-not-exist")
    text = client.get("/metrics").text
    # Both requests are counted under the route template (not /v1/orders/7 and /v1/orders/8); their status
    # depends on whether this process can reach a database, which is not what this test is about.
    by_template = re.findall(
        r'stockyard_http_requests_total\{method="GET",route="/v1/orders/\{order_id\}",status="(\d+)"\} ([0-9.]+)',
        text,
    )
    assert sum(float(count) for _status, count in by_template) == 2.0, text
    assert "/v1/orders/7" not in text and "/v1/orders/8" not in text
    assert (
        'stockyard_http_request_duration_seconds_count{method="GET",route="/v1/orders/{order_id}"} 2.0'
        in text
    )
    assert 'route="<unmatched>"' in text
    assert 'stockyard_model_info{model="demand_forecast",version="1"} 1.0' in text
    assert 'stockyard_model_loaded{model="shipment_eta"} 0.0' in text


def test_healthz_reports_each_dependency(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"  # the unit app has no database and no plans
    deps = body["dependencies"]
    assert deps["db"]["status"] == "unavailable"
    assert deps["model_registry"]["models"]["demand_forecast"]["version"] == "1"
    assert deps["model_registry"]["models"]["shipment_eta"]["status"] == "unavailable"
    assert "alias" in deps["model_registry"]["models"]["shipment_eta"]["reason"]
    assert deps["feature_store"]["status"] == "ok"


def test_json_formatter_carries_extra_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.route = "/v1/orders"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert line["route"] == "/v1/orders"
    assert line["level"] == "info"


def test_request_id_stamping_coexists_with_explicit_extra() -> None:
    from serving.logging import _stamp_request_id, request_id_var

    original = logging.getLogRecordFactory()
    logging.setLogRecordFactory(_stamp_request_id(original))
    token = request_id_var.set("ctx-1")
    try:
        explicit = logging.getLogger("t").makeRecord(
            "t", logging.INFO, __file__, 1, "m", (), None, extra={"request_id": "x"}
        )
        implicit = logging.getLogger("t").makeRecord("t", logging.INFO, __file__, 1, "m", (), None)
    finally:
        request_id_var.reset(token)
        logging.setLogRecordFactory(original)
    assert json.loads(JsonFormatter().format(explicit))["request_id"] == "x"
    assert (
        json.loads(JsonFormatter().format(implicit))["request_id"] == "ctx-1"
    )  # formatted outside the context


def test_metrics_stay_per_app_after_feast_is_imported() -> None:
    # Feast flips prometheus_client into multiprocess mode on import; a fresh interpreter imports it first.
    script = (
        "import feast.metrics, os\n"
        "assert 'PROMETHEUS_MULTIPROC_DIR' in os.environ\n"
        "from serving.metrics import ApiMetrics\n"
        "a, b = ApiMetrics(), ApiMetrics()\n"
        "b.observe_request('GET', '/x', 200, 0.001)\n"
        "a.observe_request('GET', '/x', 200, 0.001)\n"
        "a.observe_request('GET', '/x', 200, 0.001)\n"
        "print(a.render().decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert 'stockyard_http_requests_total{method="GET",route="/x",status="200"} 2.0' in out, out
