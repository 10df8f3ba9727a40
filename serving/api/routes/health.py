"""``GET /healthz`` (dependency status) and ``GET /metrics`` (Prometheus); neither needs a key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from serving.api.deps import DbDep, StateDep
from serving.schemas import HealthOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz(state: StateDep, db: DbDep) -> HealthOut:
    """Status of each dependency: database, model registry (each served model), feature store, plans.

    Always 200 while the process serves requests; ``status`` is ``degraded`` when any dependency is not ok.
    """
    deps: dict[str, dict[str, object]] = {"db": await run_in_threadpool(db.status)}
    models = {name: holder.status() for name, holder in state.models.holders.items()}
    deps["model_registry"] = {
        "status": "ok" if all(m["status"] == "ok" for m in models.values()) else "degraded",
        "models": models,
    }
    deps["feature_store"] = (
        await run_in_threadpool(state.features.status)
        if state.features is not None
        else {"status": "unavailable", "reason": "not configured"}
    )
    deps["plans"] = {
        "status": "ok",
        "slotting": state.plans.slotting.status(),
        "replenishment": state.plans.replenishment.status(),
    }
    overall: Literal["ok", "degraded"] = (
        "ok" if all(d.get("status") == "ok" for d in deps.values()) else "degraded"
    )
    return HealthOut(status=overall, dependencies=deps)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: StateDep) -> Response:
    """Prometheus exposition: request counts and latency histograms by route, model versions served."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
