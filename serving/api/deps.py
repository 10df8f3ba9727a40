"""Dependencies of the routes, as ``Annotated`` aliases (override any of them in tests).

Authentication runs first (401), then the per-key rate limit (429), then the scope check (403). The key lookup is
served from memory when cached, so the hot path never blocks the event loop.

Every dependency here is ``async def`` although none awaits: FastAPI runs a plain ``def`` dependency in the thread
pool, and these only read attributes, so each would cost a thread hop per request (profiled: the accessors' hops
were most of an uncached forecast's time in the app). Anything blocking stays behind ``run_in_threadpool``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.auth import AuthError, KeyStore, Principal, RateLimiter, authenticate, prefix_of
from serving.errors import RateLimitedError, ServiceUnavailableError
from serving.features import EtaStatsSource, FeatureSource
from serving.models import ETA_MODEL, FORECAST_MODEL, ModelHolder
from serving.plans import PlanStore
from serving.state import Database, ServingState

__all__ = [
    "DbDep",
    "EtaModelDep",
    "EtaStatsDep",
    "FeaturesDep",
    "ForecastModelDep",
    "InferenceRead",
    "InventoryRead",
    "OrdersRead",
    "OrdersWrite",
    "PlansDep",
    "PlansRead",
    "PrincipalDep",
    "ShipmentsWrite",
    "StateDep",
    "get_eta_model",
    "get_eta_stats",
    "get_feature_source",
    "get_forecast_model",
    "get_key_store",
    "get_principal",
    "get_rate_limiter",
    "get_state",
    "require_scope",
]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="ApiKey", description="An API key: `sy_<prefix>_<secret>`."
)


async def get_state(request: Request) -> ServingState:
    """The app's :class:`ServingState`.

    Args:
        request: The request.

    Returns:
        The state.
    """
    return request.app.state.serving  # type: ignore[no-any-return]


StateDep = Annotated[ServingState, Depends(get_state)]


async def get_key_store(state: StateDep) -> KeyStore:
    """The key store.

    Args:
        state: App state.

    Returns:
        The store.
    """
    return state.key_store


async def get_rate_limiter(state: StateDep) -> RateLimiter:
    """The per-key rate limiter.

    Args:
        state: App state.

    Returns:
        The limiter.
    """
    return state.rate_limiter


async def get_principal(
    state: StateDep,
    store: Annotated[KeyStore, Depends(get_key_store)],
    limiter: Annotated[RateLimiter, Depends(get_rate_limiter)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """Authenticate the caller and charge its rate limit.

    Args:
        state: App state (metrics).
        store: Key store.
        limiter: Rate limiter.
        credentials: The bearer token, if sent.

    Returns:
        The caller.

    Raises:
        AuthError: 401 without a valid key.
        RateLimitedError: The key is over its limit.
    """
    token = credentials.credentials if credentials else None
    prefix = prefix_of(token)
    if token is None:
        raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'")
    if prefix is None:
        raise AuthError(401, "invalid or revoked API key")
    hit, stored = store.cached(prefix)
    if not hit:
        stored = await run_in_threadpool(store.get, prefix)
    principal = authenticate(token, stored)
    wait = limiter.acquire(principal.prefix)
    if wait is not None:
        state.metrics.rate_limited.labels(principal.prefix).inc()
        raise RateLimitedError(RateLimiter.retry_after_header(wait))
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> Any:
    """A dependency granting access only to keys holding ``scope`` (or ``admin``).

    Args:
        scope: Scope name.

    Returns:
        The dependency (resolves to the :class:`Principal`).
    """

    async def _check(principal: PrincipalDep) -> Principal:
        if not principal.has(scope):
            raise AuthError(403, f"this API key lacks the scope {scope!r}")
        return principal

    _check.__name__ = f"require_{scope.replace(':', '_')}"
    return Depends(_check)


OrdersWrite = Annotated[Principal, require_scope("orders:write")]
OrdersRead = Annotated[Principal, require_scope("orders:read")]
InventoryRead = Annotated[Principal, require_scope("inventory:read")]
ShipmentsWrite = Annotated[Principal, require_scope("shipments:write")]
InferenceRead = Annotated[Principal, require_scope("inference:read")]
PlansRead = Annotated[Principal, require_scope("plans:read")]


async def get_db(state: StateDep) -> Database:
    """The OLTP database handle.

    Args:
        state: App state.

    Returns:
        The database.
    """
    return state.db


DbDep = Annotated[Database, Depends(get_db)]


async def get_forecast_model(state: StateDep) -> ModelHolder:
    """Holder of the served demand model.

    Args:
        state: App state.

    Returns:
        The holder.
    """
    return state.models.holder(FORECAST_MODEL)


async def get_eta_model(state: StateDep) -> ModelHolder:
    """Holder of the served ETA model.

    Args:
        state: App state.

    Returns:
        The holder.
    """
    return state.models.holder(ETA_MODEL)


ForecastModelDep = Annotated[ModelHolder, Depends(get_forecast_model)]
EtaModelDep = Annotated[ModelHolder, Depends(get_eta_model)]


async def get_feature_source(state: StateDep) -> FeatureSource:
    """The forecast feature source.

    Args:
        state: App state.

    Returns:
        The source.

    Raises:
        ServiceUnavailableError: None configured.
    """
    if state.features is None:
        raise ServiceUnavailableError("no forecast feature source is configured", code="features_unavailable")
    return state.features


FeaturesDep = Annotated[FeatureSource, Depends(get_feature_source)]


async def get_eta_stats(state: StateDep) -> EtaStatsSource | None:
    """The lane and carrier statistics of the ETA endpoint (None: served as missing).

    Args:
        state: App state.

    Returns:
        The source, or None when none is configured.
    """
    return state.eta_stats


EtaStatsDep = Annotated[EtaStatsSource | None, Depends(get_eta_stats)]


async def get_plans(state: StateDep) -> PlanStore:
    """The plan files.

    Args:
        state: App state.

    Returns:
        The plan store.
    """
    return state.plans


PlansDep = Annotated[PlanStore, Depends(get_plans)]
