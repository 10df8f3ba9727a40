"""Dagster's own storage (runs, event log, schedules) for this Stockyard home.

Default: SQLite under ``<home>/dagster`` (Dagster's ``DAGSTER_HOME``). With ``STOCKYARD_PG_DSN`` set, Dagster keeps
its tables in a ``dagster`` schema of that database (dagster-postgres), so a deployment with an external
PostgreSQL keeps all state in one server and the OLTP's ``public`` schema is left alone.

``dagster.yaml`` never holds the DSN: it names the environment variable :data:`STORAGE_URL_ENV`, which
:func:`dagster_env` derives from the settings for every process we start (``stockyard ui``) and
:func:`dagster_instance` sets in its own process. Telemetry is off either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from stockyard.settings import Settings, get_settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

__all__ = [
    "DAGSTER_SCHEMA",
    "STORAGE_URL_ENV",
    "dagster_env",
    "dagster_instance",
    "storage_url",
    "write_dagster_yaml",
]

DAGSTER_SCHEMA = "dagster"
# Derived from STOCKYARD_PG_DSN by our launchers; not a user setting (the user sets STOCKYARD_PG_DSN only).
STORAGE_URL_ENV = "STOCKYARD_DAGSTER_STORAGE_URL"


def storage_url(settings: Settings | None = None) -> str | None:
    """The SQLAlchemy URL of Dagster's PostgreSQL storage, or None for SQLite.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        ``postgresql://...?options=-csearch_path=dagster`` when ``STOCKYARD_PG_DSN`` is set, else None.
    """
    settings = settings or get_settings()
    if settings.pg_dsn is None:
        return None
    parts = urlsplit(settings.pg_dsn.get_secret_value())
    query = dict(parse_qsl(parts.query))
    # search_path pins every Dagster table (and its own alembic_version) to the dagster schema.
    query["options"] = f"-csearch_path={DAGSTER_SCHEMA}"
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query)))


def _ensure_schema(settings: Settings) -> None:
    import psycopg
    from psycopg import sql

    assert settings.pg_dsn is not None
    with psycopg.connect(settings.pg_dsn.get_secret_value(), autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(DAGSTER_SCHEMA)))


def _config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if settings.pg_dsn is not None:
        config["storage"] = {"postgres": {"postgres_url": {"env": STORAGE_URL_ENV}}}
    else:
        config["storage"] = {"sqlite": {"base_dir": str(settings.dagster_home / "storage")}}
    return config


def write_dagster_yaml(settings: Settings | None = None) -> Path:
    """Create ``<home>/dagster/dagster.yaml`` (rewritten each time so a changed DSN takes effect).

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        The Dagster home directory (what ``DAGSTER_HOME`` must point at).
    """
    settings = settings or get_settings()
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if settings.pg_dsn is not None:
        _ensure_schema(settings)
    text = yaml.safe_dump(_config(settings), sort_keys=False)
    path = home / "dagster.yaml"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return home


def dagster_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment variables a Dagster process (``dagster dev``, its daemon and code servers) needs.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        ``DAGSTER_HOME``, the storage URL variable when PostgreSQL is used, and telemetry switches.
    """
    settings = settings or get_settings()
    env = {
        "DAGSTER_HOME": str(write_dagster_yaml(settings)),
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "STOCKYARD_HOME": str(settings.home),
    }
    url = storage_url(settings)
    if url is not None:
        env[STORAGE_URL_ENV] = url
    return env


def dagster_instance(settings: Settings | None = None) -> DagsterInstance:
    """A persistent Dagster instance on this home's storage (what the UI shows).

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        A ``DagsterInstance``; close it (or use it as a context manager) when done.
    """
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    settings = settings or get_settings()
    home = write_dagster_yaml(settings)
    url = storage_url(settings)
    if url is not None:
        # The yaml names the URL's environment variable; this process is the one that derives it.
        os.environ[STORAGE_URL_ENV] = url
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
