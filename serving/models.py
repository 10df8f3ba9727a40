"""The models the API serves, loaded from the MLflow registry by alias and swapped without downtime.

Each registered model has a :class:`ModelHolder` whose ``current`` attribute points at an immutable
:class:`ServedModel`. A request reads ``holder.current`` once and uses that object to the end, so replacing the
reference (a single atomic assignment) swaps versions without locks and without dropping or mixing requests: the
ones in flight finish on the old version, the next ones get the new one.

:class:`ModelManager` loads every model in the app's lifespan and then polls the alias in a background task; when
the alias points at a new version, the new version is loaded in a worker thread *before* the swap, so a slow or
failing load never leaves the API without a model. Nothing is loaded at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ETA_MODEL",
    "FORECAST_MODEL",
    "MlflowModelLoader",
    "ModelHolder",
    "ModelLoader",
    "ModelManager",
    "ModelUnavailableError",
    "ServedModel",
]

log = logging.getLogger(__name__)

FORECAST_MODEL = "demand_forecast"
ETA_MODEL = "shipment_eta"


class ModelUnavailableError(Exception):
    """No version of a model can be served (answered with 503 and the reason)."""

    def __init__(self, name: str, reason: str) -> None:
        """Create the error.

        Args:
            name: Registered model name.
            reason: Why nothing is served.
        """
        super().__init__(f"model {name!r} unavailable: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version (immutable; replaced as a whole on swap).

    Attributes:
        name: Registered model name.
        version: Registry version.
        alias: Alias it was resolved from.
        model: The loaded model (an MLflow pyfunc model in production).
        loaded_at: When it was loaded.
        runner: A faster request path prepared from ``model`` at load time (see ``ModelManager(prepare=)``), or
            None to call ``model.predict``.
    """

    name: str
    version: str
    alias: str
    model: Any
    loaded_at: dt.datetime
    runner: Any = field(default=None, compare=False, repr=False)
    # Predictions of this version, keyed by the caller; a new version is a new object with an empty cache.
    cache: OrderedDict[Any, Any] = field(default_factory=OrderedDict, compare=False, repr=False)


class ModelLoader(Protocol):
    """Resolves aliases and loads versions (the MLflow registry in production)."""

    def resolve(self, name: str, alias: str) -> str:
        """The version ``alias`` points at; raises :class:`LookupError` with a reason when there is none."""
        ...  # pragma: no cover - protocol

    def load(self, name: str, version: str) -> Any:
        """Load one version of a registered model."""
        ...  # pragma: no cover - protocol


class MlflowModelLoader:
    """Aliases and versions from an MLflow tracking/registry URI."""

    _lock = threading.Lock()

    def __init__(self, tracking_uri: str) -> None:
        """Create the loader.

        Args:
            tracking_uri: MLflow tracking URI (the registry lives in the same store).
        """
        self.tracking_uri = tracking_uri

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def resolve(self, name: str, alias: str) -> str:
        """The version behind ``name@alias``.

        Args:
            name: Registered model name.
            alias: Alias, e.g. ``champion``.

        Returns:
            The version as a string.

        Raises:
            LookupError: The model or alias does not exist, or the registry cannot be read.
        """
        from mlflow.exceptions import MlflowException

        try:
            return str(self._client().get_model_version_by_alias(name, alias).version)
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                raise LookupError(f"no version of {name!r} has the alias {alias!r} in the registry") from exc
            raise LookupError(f"model registry error: {exc.message}") from exc
        except (
            Exception
        ) as exc:  # an unreachable or corrupt store is an outage of the registry, reported in /healthz
            raise LookupError(f"model registry unreachable: {exc}") from exc

    def load(self, name: str, version: str) -> Any:
        """Load ``models:/name/version`` as a pyfunc model.

        Args:
            name: Registered model name.
            version: Registry version.

        Returns:
            The pyfunc model.
        """
        import mlflow

        # The pyfunc loader reads the process-wide registry URI; serialise the set-and-load.
        with self._lock:
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            return mlflow.pyfunc.load_model(f"models:/{name}/{version}")


class ModelHolder:
    """The served version of one registered model.

    Attributes:
        name: Registered model name.
        alias: Alias followed.
        current: The served version, or ``None``.
        reason: Why nothing (or a stale version) is served; empty when healthy.
    """

    def __init__(self, name: str, alias: str = "champion") -> None:
        """Create an empty holder.

        Args:
            name: Registered model name.
            alias: Alias followed.
        """
        self.name = name
        self.alias = alias
        self.current: ServedModel | None = None
        self.reason = "not loaded yet"

    def get(self) -> ServedModel:
        """The version to use for one request (read once, use throughout).

        Returns:
            The served model.

        Raises:
            ModelUnavailableError: Nothing is loaded.
        """
        current = self.current
        if current is None:
            raise ModelUnavailableError(self.name, self.reason)
        return current

    def swap(self, served: ServedModel | None, reason: str = "") -> None:
        """Replace the served version (one reference assignment).

        Args:
            served: The new version, or ``None`` to stop serving.
            reason: Status to report.
        """
        self.current = served
        self.reason = reason

    def status(self) -> dict[str, Any]:
        """Health summary.

        Returns:
            ``{"status", "version", "alias", "loaded_at", "reason"}``.
        """
        current = self.current
        return {
            "status": "ok"
            if current is not None and not self.reason
            else ("degraded" if current else "unavailable"),
            "version": current.version if current else None,
            "alias": self.alias,
            "loaded_at": current.loaded_at.isoformat() if current else None,
            "reason": self.reason or None,
        }


class ModelManager:
    """Loads models by alias, then follows the alias in a background task.

    Attributes:
        holders: One :class:`ModelHolder` per model name.
    """

    def __init__(
        self,
        loader: ModelLoader,
        names: Iterable[str] = (FORECAST_MODEL, ETA_MODEL),
        *,
        alias: str = "champion",
        poll_interval_s: float = 30.0,
        on_change: Callable[[str, str | None], None] | None = None,
        prepare: Callable[[str, Any], Any] | None = None,
    ) -> None:
        """Create the manager (loads nothing until :meth:`start` or :meth:`refresh`).

        Args:
            loader: Registry access.
            names: Registered model names to serve.
            alias: Alias to follow.
            poll_interval_s: Seconds between alias checks; ``<= 0`` disables polling.
            on_change: Called with ``(name, version or None)`` after each swap (metrics).
            prepare: Called with ``(name, loaded model)`` before the swap; its result becomes
                :attr:`ServedModel.runner` (the forecast's fast path). A failure here fails the load.
        """
        self.loader = loader
        self.alias = alias
        self.poll_interval_s = poll_interval_s
        self.holders = {name: ModelHolder(name, alias) for name in names}
        self._on_change = on_change
        self._prepare = prepare
        self._task: asyncio.Task[None] | None = None
        self._refresh_lock = threading.Lock()

    def holder(self, name: str) -> ModelHolder:
        """The holder of ``name``.

        Args:
            name: Registered model name.

        Returns:
            Its holder.
        """
        return self.holders[name]

    def refresh(self, name: str) -> bool:
        """Check the alias once and swap in a new version if it moved (blocking).

        Args:
            name: Registered model name.

        Returns:
            True when a new version was swapped in.
        """
        holder = self.holders[name]
        with self._refresh_lock:
            try:
                version = self.loader.resolve(name, self.alias)
            except LookupError as exc:
                # Keep serving what we have: a registry outage must not take the API down.
                holder.reason = (
                    str(exc) if holder.current is None else f"serving the last loaded version; {exc}"
                )
                return False
            current = holder.current
            if current is not None and current.version == version:
                holder.reason = ""
                return False
            try:
                model = self.loader.load(name, version)
                runner = self._prepare(name, model) if self._prepare is not None else None
            except Exception as exc:  # a broken artefact: keep the old version and report why
                log.exception("loading %s version %s failed", name, version)
                holder.reason = f"loading version {version} failed: {exc}"
                return False
            holder.swap(
                ServedModel(
                    name=name,
                    version=version,
                    alias=self.alias,
                    model=model,
                    loaded_at=dt.datetime.now(dt.UTC),
                    runner=runner,
                )
            )
        log.info(
            "serving model",
            extra={"model": name, "version": version, "previous": current and current.version},
        )
        if self._on_change is not None:
            self._on_change(name, version)
        return True

    def refresh_all(self) -> None:
        """:meth:`refresh` every model."""
        for name in self.holders:
            self.refresh(name)

    async def start(self) -> None:
        """Load every model (in a worker thread) and start polling."""
        await asyncio.to_thread(self.refresh_all)
        if self.poll_interval_s > 0:
            self._task = asyncio.create_task(self._poll(), name="model-alias-poller")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                await asyncio.to_thread(self.refresh_all)
            except Exception:  # the poller must survive anything; the next tick retries
                log.exception("model alias poll failed")
