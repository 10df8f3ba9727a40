"""Stockyard's Feast feature store: configuration, apply, feature data, materialisation and retrieval.

The repository lives in ``feature_repo/`` (entities, sources, feature views, services). Its YAML only holds
``${VAR}`` placeholders; :func:`feast_env` derives those variables from Stockyard's settings, so the registry and the
SQLite online store live under ``STOCKYARD_HOME/feast`` and the offline sources are the gold Parquet files.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from stockyard.errors import StockyardError
from stockyard.settings import Settings, get_settings

if TYPE_CHECKING:
    from feast import FeatureStore

__all__ = [
    "DEMAND_STATE_VIEW",
    "DEMAND_SERVICE",
    "ETA_SERVICE",
    "ETA_STATS_VIEWS",
    "demand_state_frame",
    "feast_env",
    "feature_store",
    "apply_repo",
    "write_demand_state",
    "materialize",
    "materialize_eta_stats",
    "eta_stats_frames",
    "write_eta_stats",
    "historical_eta_stats",
    "shipment_stats_pit",
    "online_eta_stats",
    "eta_store_status",
    "historical_demand_state",
    "online_demand_state",
    "origin_state_pit",
    "demand_store_status",
    "registry_path",
]

DEMAND_STATE_VIEW = "item_warehouse_91d_stats"
DEMAND_SERVICE = "demand_forecast_v1"
DEMAND_STATE_FILE = Path("features") / "item_warehouse_daily_state.parquet"
_STRING_FEATURES = frozenset({"category", "abc_class"})
LANE_STATS_VIEW = "lane_28d_stats"
CARRIER_STATS_VIEW = "carrier_28d_stats"
ETA_STATS_VIEWS = (LANE_STATS_VIEW, CARRIER_STATS_VIEW)
ETA_SERVICE = "eta_v1"
LANE_STATS_FILE = Path("features") / "lane_daily_stats.parquet"
CARRIER_STATS_FILE = Path("features") / "carrier_daily_stats.parquet"


class FeatureStoreError(StockyardError):
    """Feast could not apply the repository or serve features."""


def feast_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment variables that fill the placeholders of ``feature_repo/feature_store*.yaml``."""
    settings = settings or get_settings()
    env = {
        "FEAST_REGISTRY_PATH": str(registry_path(settings)),
        "FEAST_ONLINE_STORE_PATH": str(settings.home / "feast" / "online_store.db"),
        "FEAST_GOLD_DIR": str(settings.gold_dir),
        "FEAST_USAGE": "False",
    }
    if settings.feast_online_store == "postgres":
        from urllib.parse import urlsplit

        from stockyard.pg import ensure_postgres

        parts = urlsplit(ensure_postgres(settings))
        env |= {
            "FEAST_PG_HOST": parts.hostname or "127.0.0.1",
            "FEAST_PG_PORT": str(parts.port or 5432),
            "FEAST_PG_DATABASE": parts.path.lstrip("/"),
            "FEAST_PG_USER": parts.username or "postgres",
            "FEAST_PG_PASSWORD": parts.password or "",
        }
    return env


def registry_path(settings: Settings | None = None) -> Path:
    """Where ``feast apply`` writes this home's registry (its existence means the repository was applied).

    Args:
        settings: Settings of the home.

    Returns:
        The registry file path.
    """
    settings = settings or get_settings()
    return settings.home / "feast" / "registry.db"


def _yaml(settings: Settings) -> Path:
    assert settings.feast_repo is not None
    name = "feature_store.yaml" if settings.feast_online_store == "sqlite" else "feature_store.postgres.yaml"
    return settings.feast_repo / name


@contextmanager
def _registry_lock(settings: Settings) -> Iterator[None]:
    """Serialise registry writes (apply, materialise) of one home across processes.

    The file registry is rewritten whole by each writer; two assets applying or materialising at once (Dagster's
    multiprocess executor) would otherwise lose one another's materialisation intervals.
    """
    (settings.home / "feast").mkdir(parents=True, exist_ok=True)
    with (settings.home / "feast" / "registry.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def feature_store(settings: Settings | None = None) -> FeatureStore:
    """A ``FeatureStore`` for this home (sets the placeholder variables in this process first)."""
    from feast import FeatureStore

    settings = settings or get_settings()
    os.environ.update(feast_env(settings))
    (settings.home / "feast").mkdir(parents=True, exist_ok=True)
    return FeatureStore(repo_path=str(settings.feast_repo), fs_yaml_file=_yaml(settings))


def apply_repo(settings: Settings | None = None) -> str:
    """Run ``feast apply`` on the repository (registers entities, views and services; creates online tables).

    Returns:
        Feast's output.

    Raises:
        FeatureStoreError: when Feast rejects the repository.
    """
    settings = settings or get_settings()
    (settings.home / "feast").mkdir(parents=True, exist_ok=True)
    feast_bin = Path(sys.executable).with_name("feast")
    cmd = [str(feast_bin), "-f", str(_yaml(settings)), "apply"]
    with _registry_lock(settings):
        result = subprocess.run(
            cmd,
            cwd=settings.feast_repo,
            env=os.environ | feast_env(settings),
            capture_output=True,
            text=True,
            timeout=600,
        )
    if result.returncode != 0:
        raise FeatureStoreError(f"feast apply failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


def demand_state_frame(demand: pl.DataFrame) -> pl.DataFrame:
    """Feature rows of ``item_warehouse_91d_stats`` from ``fct_demand_daily`` rows.

    A day's state becomes known when the day closes: ``event_timestamp`` is the next midnight (UTC), so a
    point-in-time lookup at an origin's midnight sees the state up to and including the previous day.
    """
    from ml.forecasting.features import prepare_history, series_state

    state = series_state(prepare_history(demand))
    return state.with_columns(
        (pl.col("date").cast(pl.Datetime("us")) + pl.duration(days=1))
        .dt.replace_time_zone("UTC")
        .alias("event_timestamp")
    )


def _write_atomic(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
    return path


def write_demand_state(demand: pl.DataFrame, settings: Settings | None = None) -> Path:
    """Compute the demand state features and write them where the Feast source reads them."""
    settings = settings or get_settings()
    return _write_atomic(demand_state_frame(demand), settings.gold_dir / DEMAND_STATE_FILE)


def materialize(
    settings: Settings | None = None,
    end: dt.datetime | None = None,
    *,
    views: Sequence[str] = (DEMAND_STATE_VIEW,),
) -> None:
    """Load the latest feature values up to ``end`` (default: now) into the online store.

    Args:
        settings: Settings of the home.
        end: Latest event timestamp loaded (default: now).
        views: Feature views to load (default: the demand state).
    """
    settings = settings or get_settings()
    end = end or dt.datetime.now(dt.UTC)
    with _registry_lock(settings):
        # Opened under the lock so the registry it rewrites is the latest one.
        store = feature_store(settings)
        store.materialize(start_date=end - dt.timedelta(days=3650), end_date=end, feature_views=list(views))


def materialize_eta_stats(settings: Settings | None = None, end: dt.datetime | None = None) -> None:
    """Load the latest lane and carrier statistics up to ``end`` (default: now) into the online store.

    Args:
        settings: Settings of the home.
        end: Latest event timestamp loaded (default: now).
    """
    materialize(settings, end, views=ETA_STATS_VIEWS)


def eta_stats_frames(shipments: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Feature rows of ``lane_28d_stats`` and ``carrier_28d_stats`` from shipments.

    Args:
        shipments: ``fct_shipments`` rows or ETA-contract rows (:func:`ml.eta.pipeline.eta_frame` maps them).

    Returns:
        ``(lane rows, carrier rows)``, see :mod:`ml.eta.lane_stats`.
    """
    from ml.eta.lane_stats import carrier_daily_stats, lane_daily_stats
    from ml.eta.pipeline import eta_frame

    frame = eta_frame(shipments)
    return lane_daily_stats(frame), carrier_daily_stats(frame)


def write_eta_stats(shipments: pl.DataFrame, settings: Settings | None = None) -> tuple[Path, Path]:
    """Compute the lane and carrier statistics and write them where the Feast sources read them.

    Args:
        shipments: ``fct_shipments`` rows or ETA-contract rows.
        settings: Settings of the home (gold directory).

    Returns:
        The paths of the lane and the carrier file.
    """
    settings = settings or get_settings()
    lane, carrier = eta_stats_frames(shipments)
    return (
        _write_atomic(lane, settings.gold_dir / LANE_STATS_FILE),
        _write_atomic(carrier, settings.gold_dir / CARRIER_STATS_FILE),
    )


def _feature_refs(store: FeatureStore) -> list[str]:
    view = store.get_feature_view(DEMAND_STATE_VIEW)
    return [f"{DEMAND_STATE_VIEW}:{f.name}" for f in view.features]


def historical_demand_state(entity_rows: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Point-in-time correct state features for (item, warehouse, event_timestamp) rows.

    Args:
        entity_rows: Columns item, warehouse and event_timestamp (UTC datetimes: the moment of the forecast).

    Returns:
        The entity rows with every feature of ``item_warehouse_91d_stats`` as known at that moment.
    """
    store = feature_store(settings)
    entity_df = entity_rows.select("item", "warehouse", "event_timestamp").to_pandas()
    job = store.get_historical_features(entity_df=entity_df, features=_feature_refs(store))
    return pl.from_pandas(job.to_df())


def origin_state_pit(origins: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """The state of each series at the close of each origin day, by Feast point-in-time retrieval.

    The lookup moment is the midnight after the origin day, so it sees exactly the state row of the origin day
    (its ``event_timestamp``) and nothing later.

    Args:
        origins: Columns item, warehouse, origin_date (duplicates are fetched once).
        settings: Settings of the home whose repository is applied and whose state file is written.

    Returns:
        item, warehouse, origin_date and every feature of ``item_warehouse_91d_stats`` (null where the store holds no
        state for that origin).
    """
    unique = origins.select("item", "warehouse", "origin_date").unique()
    entity = unique.with_columns(
        (pl.col("origin_date").cast(pl.Datetime("us")) + pl.duration(days=1))
        .dt.replace_time_zone("UTC")
        .alias("event_timestamp")
    )
    found = historical_demand_state(entity, settings)
    found = found.with_columns(
        pl.col("event_timestamp")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        .dt.cast_time_unit("us")
    )
    fetched = found.with_columns(
        (pl.col("event_timestamp") - pl.duration(days=1)).dt.date().alias("origin_date")
    ).drop("event_timestamp")
    return fetched


def online_demand_state(
    keys: list[tuple[str, str]],
    settings: Settings | None = None,
    *,
    store: FeatureStore | None = None,
    with_origin: bool = False,
) -> pl.DataFrame:
    """Latest state features of the given (item, warehouse) series from the online store.

    Args:
        keys: (item, warehouse) pairs.
        settings: Settings of the home (ignored when ``store`` is given).
        store: An open ``FeatureStore`` to reuse (serving keeps one instead of opening one per request).
        with_origin: Add ``origin_date``, the day whose close the state describes (event timestamp minus
            one day), null for series the store does not hold.

    Returns:
        One row per key, in order: item, warehouse (, origin_date) and every feature of
        ``item_warehouse_91d_stats``; features are null for series the store does not hold.
    """
    from feast.online_response import TIMESTAMP_POSTFIX

    store = store or feature_store(settings)
    refs = _feature_refs(store)
    rows = [{"item": i, "warehouse": w} for i, w in keys]
    response = store.get_online_features(features=refs, entity_rows=rows).to_dict(
        include_event_timestamps=with_origin
    )
    names = [ref.split(":", 1)[1] for ref in refs]
    # Typed columns even when every value is null (an unknown series), so callers can compute on them.
    columns: dict[str, pl.Series] = {
        "item": pl.Series("item", [i for i, _ in keys], dtype=pl.String),
        "warehouse": pl.Series("warehouse", [w for _, w in keys], dtype=pl.String),
    }
    if with_origin:
        seconds = response[f"{names[0]}{TIMESTAMP_POSTFIX}"]
        present = [any(response[n][k] is not None for n in names) for k in range(len(keys))]
        columns["origin_date"] = pl.Series(
            "origin_date",
            [
                (dt.datetime.fromtimestamp(ts, dt.UTC) - dt.timedelta(days=1)).date() if ok and ts else None
                for ts, ok in zip(seconds, present, strict=True)
            ],
            dtype=pl.Date,
        )
    for name in names:
        dtype = pl.String if name in _STRING_FEATURES else pl.Float64
        columns[name] = pl.Series(name, response[name], dtype=dtype, strict=False)
    return pl.DataFrame(columns)


def historical_eta_stats(entity_rows: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Point-in-time correct ``eta_v1`` features for (lane, carrier, event_timestamp) rows.

    Each view of the service is retrieved on its own, with entity rows unique on (its join key, timestamp): Feast's
    file offline store keeps one entity row per (join keys seen so far, timestamp) while it joins the views of a
    multi-entity request, so rows sharing a lane and a moment but not a carrier would be lost.

    Args:
        entity_rows: Columns lane, carrier and event_timestamp (UTC datetimes: the moment of booking).
        settings: Settings of the home whose repository is applied and whose statistics files are written.

    Returns:
        The unique (lane, carrier, event_timestamp) rows with every feature of ``eta_v1`` as known at that moment
        (null when the key has no row within the TTL).
    """
    store = feature_store(settings)
    service = store.get_feature_service(ETA_SERVICE)
    rows = entity_rows.select(
        pl.col("lane").cast(pl.String),
        pl.col("carrier").cast(pl.String),
        pl.col("event_timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
    ).unique(maintain_order=True)
    for projection in service.feature_view_projections:
        view = store.get_feature_view(projection.name)
        (key,) = view.join_keys
        entity_df = rows.select(key, "event_timestamp").unique().to_pandas()
        refs = [f"{projection.name}:{f.name}" for f in projection.features]
        found = pl.from_pandas(store.get_historical_features(entity_df=entity_df, features=refs).to_df())
        found = found.select(
            pl.col(key).cast(pl.String),
            pl.col("event_timestamp").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
            *[pl.col(f.name).cast(pl.Float64) for f in projection.features],
        )
        rows = rows.join(found, on=[key, "event_timestamp"], how="left", maintain_order="left")
    return rows


def shipment_stats_pit(shipments: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """The lane and carrier statistics known at booking of each (lane, carrier, ship_date), through Feast.

    The lookup moment is the ship date's midnight (UTC), the moment :func:`ml.eta.lane_stats.attach_lane_carrier_stats`
    uses in process.

    Args:
        shipments: Columns lane, carrier, ship_date (duplicates are fetched once).
        settings: Settings of the home whose repository is applied and whose statistics files are written.

    Returns:
        lane, carrier, ship_date and every feature of ``eta_v1``.
    """
    unique = shipments.select("lane", "carrier", pl.col("ship_date").cast(pl.Date)).unique()
    entity = unique.with_columns(
        pl.col("ship_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("event_timestamp")
    )
    found = historical_eta_stats(entity, settings)
    return found.with_columns(
        pl.col("event_timestamp")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        .dt.date()
        .alias("ship_date")
    ).drop("event_timestamp")


def online_eta_stats(
    keys: list[tuple[str, str]],
    settings: Settings | None = None,
    *,
    store: FeatureStore | None = None,
    as_of: dt.datetime | None = None,
) -> pl.DataFrame:
    """Latest ``eta_v1`` features of (lane, carrier) pairs from the online store.

    Args:
        keys: (lane, carrier) pairs.
        settings: Settings of the home (ignored when ``store`` is given).
        store: An open ``FeatureStore`` to reuse (serving keeps one).
        as_of: The moment of booking: values whose row is older than the views' TTL at that moment are null, as
            in training (the online store itself does not expire rows). None keeps every stored value.

    Returns:
        One row per key, in order: lane, carrier and every feature of ``eta_v1`` (Float64, null where the store
        holds nothing for the key).
    """
    from feast.online_response import TIMESTAMP_POSTFIX

    store = store or feature_store(settings)
    service = store.get_feature_service(ETA_SERVICE)
    response = store.get_online_features(
        features=service, entity_rows=[{"lane": lane, "carrier": carrier} for lane, carrier in keys]
    ).to_dict(include_event_timestamps=as_of is not None)
    columns: dict[str, pl.Series] = {
        "lane": pl.Series("lane", [lane for lane, _ in keys], dtype=pl.String),
        "carrier": pl.Series("carrier", [carrier for _, carrier in keys], dtype=pl.String),
    }
    for projection in service.feature_view_projections:
        view = store.get_feature_view(projection.name)
        for feature in projection.features:
            values = list(response[feature.name])
            if as_of is not None and view.ttl:
                oldest = (as_of - view.ttl).timestamp()
                stamps = response[f"{feature.name}{TIMESTAMP_POSTFIX}"]
                values = [
                    v if ts is not None and ts >= oldest else None
                    for v, ts in zip(values, stamps, strict=True)
                ]
            columns[feature.name] = pl.Series(feature.name, values, dtype=pl.Float64, strict=False)
    return pl.DataFrame(columns)


def eta_store_status(store: FeatureStore) -> str | None:
    """Why the online ETA statistics cannot be served yet, or None when they can.

    Args:
        store: An open ``FeatureStore``.

    Returns:
        None when ``eta_v1`` is registered and its views have been materialised; otherwise the reason.
    """
    from feast.errors import FeatureServiceNotFoundException, FeatureViewNotFoundException

    try:
        store.get_feature_service(ETA_SERVICE)
        views = [store.get_feature_view(name) for name in ETA_STATS_VIEWS]
    except (FeatureServiceNotFoundException, FeatureViewNotFoundException) as exc:
        return f"{exc}; run feast apply (the features/lane_28d_stats asset)"
    never = [view.name for view in views if not view.materialization_intervals]
    if never:
        return f"feature views {never} were never materialised; run the features/lane_28d_stats asset"
    return None


def demand_store_status(store: FeatureStore) -> str | None:
    """Why the online demand features cannot be served yet, or None when they can.

    Args:
        store: An open ``FeatureStore``.

    Returns:
        None when ``item_warehouse_91d_stats`` is registered and has been materialised at least once; otherwise the
        reason.
    """
    from feast.errors import FeatureViewNotFoundException

    try:
        view = store.get_feature_view(DEMAND_STATE_VIEW)
    except FeatureViewNotFoundException:
        return f"feature view {DEMAND_STATE_VIEW} is not registered; run feast apply (the features asset)"
    if not view.materialization_intervals:
        return f"feature view {DEMAND_STATE_VIEW} was never materialised; run the features asset"
    return None
