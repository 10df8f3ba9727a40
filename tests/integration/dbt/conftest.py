"""One built dbt project per session: a seeded history in the OLTP, ingested to bronze by ``ingest.run.run_ingest``
(feeds from landing files), built on DuckDB and (published with ``publish_bronze``) on PostgreSQL. dbt invocations
are slow, so every test shares these builds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from stockyard.pg import with_database
from stockyard.settings import Settings

# A small but complete history: 2 warehouses, 12 items, 70 days; the last 4 days arrive as an increment.
HISTORY_DAYS = 70
INCREMENT_DAYS = 4


@dataclasses.dataclass
class BuiltProject:
    settings: Settings
    pg_uri: str
    history: object
    cutoff: dt.datetime


@pytest.fixture(scope="session")
def dbt_built(
    pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltProject]:
    from factories.bronze import HistoryConfig, load_oltp, synthesize_history, write_landing

    from ingest.publish_pg import publish_bronze
    from ingest.run import run_ingest
    from stockyard.dbt import run_dbt

    name = f"sy_dbt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(pg_template)
            )
        )
    uri = with_database(pg_server, name)
    home = tmp_path_factory.mktemp("dbt_home")
    settings = Settings(home=home, pg_dsn=uri)

    history = synthesize_history(
        HistoryConfig(days=HISTORY_DAYS, items=12, warehouses=2, customers=30, seed=11)
    )
    cutoff = history.end - dt.timedelta(days=INCREMENT_DAYS)
    tables = history.as_of(cutoff)
    load_oltp(uri, tables)
    # The real ingest: OLTP tables by change capture, feeds from landing files.
    write_landing(settings.landing_dir, tables)
    report = run_ingest(settings)
    failed = [(r.table, r.error) for r in report.results if r.status == "failed"]
    assert not failed, failed

    run_dbt(["build"], settings, target="duckdb")
    publish_bronze(settings.lake_root, uri)
    run_dbt(["build"], settings, target="postgres")
    try:
        yield BuiltProject(settings=settings, pg_uri=uri, history=history, cutoff=cutoff)
    finally:
        from oltp.db import _engine_for

        _engine_for.cache_clear()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _mart_fingerprint(query, marts: list[str], columns_of) -> dict[str, tuple]:
    """Row count plus the sum of every numeric column and the count of true values of every boolean column.

    Columns starting with ``_`` (run bookkeeping) are left out. ``query(sql)`` returns one row; ``columns_of(mart)``
    returns ``[(column, type)]``.
    """
    out = {}
    for mart in marts:
        exprs, names = ["count(*)"], ["rows"]
        for column, dtype in columns_of(mart):
            t = dtype.upper()
            if column.startswith("_"):
                continue
            if t in ("BOOLEAN",):
                exprs.append(f"sum(case when {column} then 1 else 0 end)")
            elif any(k in t for k in ("INT", "DOUBLE", "DECIMAL", "NUMERIC", "REAL", "FLOAT")):
                exprs.append(f"sum(cast({column} as double precision))")
            else:
                exprs.append(f"count(distinct {column})")
            names.append(column)
        row = query(f"select {', '.join(exprs)} from marts.{mart}")
        out[mart] = dict(zip(names, row, strict=True))
    return out


def _duckdb_fingerprint(path: Path, marts: list[str] | None = None) -> dict[str, dict]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        if marts is None:
            marts = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
                ).fetchall()
            ]

        def columns_of(mart: str) -> list[tuple[str, str]]:
            return con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()

        return _mart_fingerprint(lambda q: con.execute(q).fetchall()[0], marts, columns_of)


def _postgres_fingerprint(uri: str, marts: list[str]) -> dict[str, dict]:
    with psycopg.connect(uri) as conn:

        def columns_of(mart: str) -> list[tuple[str, str]]:
            return conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = %s order by ordinal_position",
                (mart,),
            ).fetchall()

        return _mart_fingerprint(lambda q: conn.execute(q).fetchone(), marts, columns_of)


@pytest.fixture(scope="session")
def fingerprint():
    """Per-mart fingerprints ``duckdb(path, marts=None)``, ``postgres(uri, marts)`` and ``assert_equal(a, b)``."""
    return dataclasses.make_dataclass("Fingerprint", ["duckdb", "postgres", "assert_equal"])(
        _duckdb_fingerprint, _postgres_fingerprint, _assert_fingerprints_equal
    )


def _assert_fingerprints_equal(left: dict[str, dict], right: dict[str, dict]) -> None:
    """Every mart and figure equal (floats to 1e-6 relative)."""
    import math

    assert sorted(left) == sorted(right)
    problems = []
    for mart, figures in left.items():
        for name, a in figures.items():
            b = right[mart][name]
            same = (a is None and b is None) or (
                a is not None
                and b is not None
                and math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)
            )
            if not same:
                problems.append(f"{mart}.{name}: {a} != {b}")
    assert not problems, "\n".join(problems)
