"""The FastAPI app: composition, request middleware and lifespan.

``create_app()`` builds an app around one :class:`~serving.state.ServingState`; nothing touches the database,
MLflow or the feature store at import time. The lifespan loads the models from the registry (by alias) and starts
the alias poller; the database engine is created on first use. Run it with ``stockyard serve`` or
``uvicorn --factory serving.main:create_app``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.api.routes import (
    eta,
    forecast,
    health,
    inventory,
    orders,
    replenishment,
    routing,
    shipments,
    slotting,
)
from serving.auth import KeyStore, RateLimiter, SqlKeyStore
from serving.errors import install_error_handlers
from serving.features import EtaStatsSource, FeatureSource, HistoryFeatureSource
from serving.forecaster import Forecaster
from serving.logging import configure_logging, request_id_var
from serving.metrics import UNMATCHED_ROUTE, ApiMetrics
from serving.models import FORECAST_MODEL, MlflowModelLoader, ModelLoader, ModelManager
from serving.plans import PlanStore
from serving.state import Database, ServingState
from stockyard.settings import Settings, get_settings

__all__ = ["RequestContextMiddleware", "create_app", "create_app_from_env"]

log = logging.getLogger("serving.access")
_errors = logging.getLogger("serving.errors")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_500_BODY = b'{"detail":"internal server error","code":"internal_error","request_id":"%s"}'


class RequestContextMiddleware:
    """Request id in and out, one JSON access line, metrics, and the last line of defence against exceptions.

    Pure ASGI (no ``BaseHTTPMiddleware``) to keep per-request overhead low. It sits inside Starlette's
    ``ServerErrorMiddleware`` and outside the exception handlers, so an exception reaching it is a bug: it is
    logged with the request id and answered with a bare 500 JSON body, never a traceback.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        """Wrap ``app``.

        Args:
            app: The inner ASGI app.
            metrics: Where request counts and latencies go.
        """
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection.

        Args:
            scope: ASGI scope.
            receive: ASGI receive.
            send: ASGI send.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        rid_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _errors.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope.get("path")},
            )
            status = 500
            if not response_started:
                body = _500_BODY % request_id.encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            rid_header,
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            try:
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                template = getattr(route, "path", None) or UNMATCHED_ROUTE
                method = scope.get("method", "")
                self.metrics.observe_request(method, template, status, elapsed)
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "request",
                        extra={"request_id": request_id, "method": method, "route": template,
                               "path": scope.get("path"), "status": status, "duration_ms": round(elapsed * 1000, 3)},
                    )  # fmt: skip
            except Exception:  # bookkeeping must never turn an answered request into a failure
                _errors.exception("request bookkeeping failed")
            request_id_var.reset(token)


def _prepare_runner(name: str, model: Any) -> Any:
    """The forecast's fast request path, built when a version loads (before it is swapped in)."""
    return Forecaster.from_model(model) if name == FORECAST_MODEL else None


def _default_feature_source(settings: Settings, demand_history_path: Path | None) -> FeatureSource:
    """Feast's online store once the repository is applied under the home; the gold history otherwise."""
    from ml.feature_store import registry_path

    if demand_history_path is None and registry_path(settings).exists():
        from serving.feast_features import FeastFeatureSource

        return FeastFeatureSource(settings)
    assert settings.gold_dir is not None
    return HistoryFeatureSource(demand_history_path or settings.gold_dir / "fct_demand_daily.parquet")


def create_app(
    settings: Settings | None = None,
    *,
    db_uri: str | None = None,
    key_store: KeyStore | None = None,
    model_loader: ModelLoader | None = None,
    feature_source: FeatureSource | None = None,
    eta_stats: EtaStatsSource | None = None,
    demand_history_path: Path | None = None,
    model_poll_interval_s: float | None = None,
    rate_limit_per_minute: float | None = None,
    forecast_cache_size: int = 10_000,
    json_logs: bool = False,
) -> FastAPI:
    """Build the API.

    Args:
        settings: Settings; defaults to :func:`get_settings`.
        db_uri: Explicit OLTP URI (default: from settings, starting the embedded server if needed).
        key_store: Where API keys are looked up (default: the ``api_keys`` table).
        model_loader: Registry access (default: MLflow at ``settings.mlflow_tracking_uri``).
        feature_source: Forecast features (default: Feast's online store when its registry exists under the home,
            else the gold demand history).
        eta_stats: Lane and carrier statistics of the ETA endpoint (default: Feast's online store of the home,
            read lazily; null statistics until they are materialised).
        demand_history_path: Parquet of ``fct_demand_daily`` for the default feature source
            (default: ``<gold>/fct_demand_daily.parquet``).
        model_poll_interval_s: Seconds between checks of the ``champion`` alias (default 30; 0 disables).
        rate_limit_per_minute: Per-key limit (default: ``settings.api_rate_limit_per_minute``).
        forecast_cache_size: Forecast answers cached per model version (0: run the model on every request).
        json_logs: Configure the root logger for JSON lines (the ``serve`` command does).

    Returns:
        The FastAPI application.
    """
    settings = settings or get_settings()
    if json_logs:
        configure_logging()
    metrics = ApiMetrics()
    db = Database(settings, uri=db_uri)
    loader = model_loader or MlflowModelLoader(str(settings.mlflow_tracking_uri))
    poll = (
        model_poll_interval_s
        if model_poll_interval_s is not None
        else float(getattr(settings, "model_poll_interval_s", 30.0))
    )
    models = ModelManager(
        loader, poll_interval_s=poll, on_change=metrics.set_model_version, prepare=_prepare_runner
    )
    for name in models.holders:
        metrics.set_model_version(name, None)
    assert settings.gold_dir is not None
    features = feature_source or _default_feature_source(settings, demand_history_path)
    if eta_stats is None:
        from serving.feast_features import FeastEtaStats

        eta_stats = FeastEtaStats(settings)
    state = ServingState(
        settings=settings,
        metrics=metrics,
        db=db,
        key_store=key_store or SqlKeyStore(db.engine),
        rate_limiter=RateLimiter(
            rate_limit_per_minute if rate_limit_per_minute is not None else settings.api_rate_limit_per_minute
        ),
        models=models,
        features=features,
        plans=PlanStore(settings.gold_dir),
        extras={"forecast_cache_size": forecast_cache_size},
        eta_stats=eta_stats,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await models.start()
        log.info("serving started", extra={"models": {n: h.status() for n, h in models.holders.items()}})
        try:
            yield
        finally:
            await models.stop()

    app = FastAPI(
        title="Stockyard API",
        version="1.0.0",
        description="Inference (forecasts, ETAs, plans, routes) and operations (orders, inventory, shipments).",
        lifespan=lifespan,
        responses={422: {"description": "Validation error naming the field"}},
    )
    app.state.serving = state
    install_error_handlers(app)
    for module in (orders, inventory, shipments, forecast, eta, slotting, replenishment, routing, health):
        app.include_router(module.router)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def create_app_from_env() -> FastAPI:
    """The app as ``stockyard serve`` runs it: settings from the environment, JSON logs.

    Returns:
        The FastAPI application.
    """
    return create_app(json_logs=True)
