"""Running the dbt project, exporting the gold marts and granting BI access.

``dbt_project/profiles.yml`` reads every connection value from environment variables; :func:`dbt_env` derives them
from :class:`~stockyard.settings.Settings` (one source of truth) and :func:`run_dbt` runs dbt in-process with them.
:func:`export_gold` writes each mart as ``<lake_root>/gold/<mart>.parquet`` for BI and ML readers, and
:func:`ensure_bi_role` creates the read-only PostgreSQL role BI tools connect with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from stockyard.errors import StockyardError
from stockyard.settings import Settings, get_settings

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

__all__ = [
    "DBT_PROJECT_DIR",
    "ENV_PREFIX",
    "BI_ROLE",
    "MARTS_SCHEMA",
    "DbtError",
    "dbt_env",
    "run_dbt",
    "export_gold",
    "ensure_bi_role",
    "mart_names",
]

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
BI_ROLE = "stockyard_bi"
MARTS_SCHEMA = "marts"


class DbtError(StockyardError):
    """A dbt invocation failed (compile error, failing model or test)."""


# The variables the profile reads are derived values, not settings: they carry their own prefix so that no
# ``STOCKYARD_*`` name (owned by Settings, e.g. ``STOCKYARD_PG_PORT`` is the embedded server's port) is ever
# overwritten with a derived value while dbt runs.
ENV_PREFIX = "DBT_SY_"


def _pg_env(uri: str) -> dict[str, str]:
    parts = urlsplit(uri)
    return {
        "DBT_SY_PG_HOST": parts.hostname or "127.0.0.1",
        "DBT_SY_PG_PORT": str(parts.port or 5432),
        "DBT_SY_PG_USER": unquote(parts.username or "postgres"),
        "DBT_SY_PG_PASSWORD": unquote(parts.password or ""),
        "DBT_SY_PG_DATABASE": parts.path.lstrip("/") or "postgres",
    }


def dbt_env(settings: Settings | None = None, *, target: str | None = None) -> dict[str, str]:
    """Environment variables ``dbt_project/profiles.yml`` reads, derived from the settings.

    All of them start with ``DBT_SY_`` (``DBT_SY_TARGET``, ``DBT_SY_DUCKDB_PATH``, ``DBT_SY_LAKE_ROOT``,
    ``DBT_SY_PG_HOST/PORT/USER/PASSWORD/DATABASE``); ``DBT_SY_THREADS`` (default 2) and ``DBT_SY_DUCKDB_KEEP_OPEN`` (default ``True``, Dagster sets ``False``) are left to the caller. For the ``postgres`` target this makes sure PostgreSQL is up (the embedded server starts on demand).

    Args:
        settings: Settings to use; defaults to :func:`~stockyard.settings.get_settings`.
        target: ``duckdb`` or ``postgres``; defaults to ``settings.dbt_target``.

    Returns:
        ``{name: value}`` to merge into the environment of a dbt run.
    """
    settings = settings or get_settings()
    target = target or settings.dbt_target
    assert settings.duckdb_path is not None and settings.lake_root is not None
    env = {
        "DBT_SY_TARGET": target,
        "DBT_SY_DUCKDB_PATH": str(settings.duckdb_path),
        "DBT_SY_LAKE_ROOT": str(settings.lake_root),
        # Keep dbt's artefacts out of the repository and apart per STOCKYARD_HOME.
        "DBT_TARGET_PATH": str(settings.home / "dbt" / target / "target"),
        "DBT_LOG_PATH": str(settings.home / "dbt" / target / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    if target == "postgres":
        from stockyard.pg import ensure_postgres

        env.update(_pg_env(ensure_postgres(settings)))
        env["PGTZ"] = "UTC"  # libpq session time zone: dates of timestamptz are UTC dates on every engine
    return env


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_dbt(
    args: Sequence[str],
    settings: Settings | None = None,
    *,
    target: str | None = None,
    raise_on_failure: bool = True,
) -> dbtRunnerResult:
    """Run a dbt command in-process against this project with the settings' connections.

    Args:
        args: dbt arguments, e.g. ``["build"]`` or ``["run", "--select", "marts"]``.
        settings: Settings to use; defaults to :func:`~stockyard.settings.get_settings`.
        target: ``duckdb`` or ``postgres``; defaults to ``settings.dbt_target``.
        raise_on_failure: Raise :class:`DbtError` when dbt reports failure.

    Returns:
        dbt's ``dbtRunnerResult`` (``success``, ``result``, ``exception``).

    Raises:
        DbtError: dbt failed and ``raise_on_failure`` is set.
    """
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    target = target or settings.dbt_target
    env = dbt_env(settings, target=target)
    Path(env["DBT_TARGET_PATH"]).mkdir(parents=True, exist_ok=True)
    Path(settings.duckdb_path or "").parent.mkdir(parents=True, exist_ok=True)
    cli = [
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
    ]
    with _patched_environ(env):
        try:
            result = dbtRunner().invoke(cli)
        finally:
            if target == "duckdb":
                _release_duckdb()
    if raise_on_failure and not result.success:
        raise DbtError(f"dbt {' '.join(args)} failed on {target}: {_failure_summary(result)}")
    return result


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open in this process, so readers (and the next run) can open it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _failure_summary(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return (
            str(result.exception).strip().splitlines()[0]
            if str(result.exception).strip()
            else repr(result.exception)
        )
    failures = []
    for r in getattr(result.result, "results", None) or []:
        status = str(getattr(r, "status", ""))
        if status.lower() in ("error", "fail", "runtime error"):
            failures.append(f"{r.node.name}: {(r.message or status).strip().splitlines()[0]}")
    return "; ".join(failures[:5]) or "see the dbt log"


def mart_names(settings: Settings | None = None, *, target: str | None = None) -> list[str]:
    """Tables of the ``marts`` schema of the built warehouse.

    Args:
        settings: Settings to use; defaults to :func:`~stockyard.settings.get_settings`.
        target: ``duckdb`` or ``postgres``; defaults to ``settings.dbt_target``.

    Returns:
        Sorted mart names.
    """
    settings = settings or get_settings()
    target = target or settings.dbt_target
    query = (
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "and table_type in ('BASE TABLE', 'VIEW') order by table_name"
    )
    if target == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return [r[0] for r in con.execute(query).fetchall()]
    import psycopg

    from stockyard.pg import ensure_postgres

    with psycopg.connect(ensure_postgres(settings)) as conn:
        return [r[0] for r in conn.execute(query).fetchall()]


def export_gold(
    settings: Settings | None = None, *, target: str | None = None, marts: Sequence[str] | None = None
) -> list[Path]:
    """Write every mart as ``<lake_root>/gold/<mart>.parquet`` (atomically: temp file, then rename).

    Args:
        settings: Settings to use; defaults to :func:`~stockyard.settings.get_settings`.
        target: Warehouse to read (``duckdb`` or ``postgres``); defaults to ``settings.dbt_target``.
        marts: Subset of marts to export; default all tables of the ``marts`` schema.

    Returns:
        Paths of the Parquet files written.
    """
    import pyarrow.parquet as pq

    settings = settings or get_settings()
    target = target or settings.dbt_target
    names = list(marts) if marts is not None else mart_names(settings, target=target)
    gold = settings.gold_dir
    gold.mkdir(parents=True, exist_ok=True)
    written = []
    if target == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            for name in names:
                table = con.sql(f'select * from marts."{name}"').to_arrow_table()
                written.append(_write_parquet(pq, table, gold / f"{name}.parquet"))
    else:
        import adbc_driver_postgresql.dbapi as adbc

        from stockyard.pg import ensure_postgres

        with adbc.connect(ensure_postgres(settings)) as conn, conn.cursor() as cur:
            for name in names:
                cur.execute(f'select * from marts."{name}"')
                written.append(_write_parquet(pq, cur.fetch_arrow_table(), gold / f"{name}.parquet"))
    return written


def _write_parquet(pq, table, path: Path) -> Path:  # noqa: ANN001 - pyarrow module and table
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path


def ensure_bi_role(settings: Settings | None = None) -> str:
    """Create (or update) the read-only role ``stockyard_bi`` on the warehouse database.

    The role can log in, use the ``marts`` schema and select its tables (including the ones dbt creates later,
    through default privileges of the role that runs dbt) — nothing else: no OLTP (``public``), ``bronze``,
    ``staging``, ``sim`` access, no writes (every transaction is read-only and it owns nothing).

    Args:
        settings: Settings to use (password: ``settings.bi_password``); defaults to :func:`get_settings`.

    Returns:
        A libpq URI for BI tools, with the password elided.
    """
    import psycopg
    from psycopg import sql

    from stockyard.pg import ensure_postgres

    settings = settings or get_settings()
    uri = ensure_postgres(settings)
    parts = urlsplit(uri)
    database = parts.path.lstrip("/")
    owner = unquote(parts.username or "postgres")
    password = settings.bi_password.get_secret_value()
    role = sql.Identifier(BI_ROLE)
    schema = sql.Identifier(MARTS_SCHEMA)
    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,)).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(
            sql.SQL(verb + " role {} login nosuperuser nocreatedb nocreaterole noinherit password {}").format(
                role, sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(role))
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), role))
        # Temporary tables are writes too; PUBLIC has TEMP by default, so take it away from PUBLIC and give it
        # back explicitly to the owner (the OLTP and dbt role).
        conn.execute(sql.SQL("revoke temporary on database {} from public").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("grant temporary on database {} to {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
        # PostgreSQL < 15 lets PUBLIC create in schema public; close that for everyone but the owner.
        conn.execute("revoke create on schema public from public")
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, role))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, role))
        conn.execute(
            sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}").format(
                sql.Identifier(owner), schema, role
            )
        )
    host = parts.hostname or "127.0.0.1"
    return f"postgresql://{BI_ROLE}@{host}:{parts.port or 5432}/{database}"
