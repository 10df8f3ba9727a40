"""One built dbt project per session, shared by every dbt test (dbt invocations are the slow part).

A seeded history goes into the OLTP and through the real ingest (``ingest.run.run_ingest``, feeds from landing files)
to bronze. Both engines build it (models only), then take an increment: the last days of history merged into bronze
plus deletions (tombstones of one whole order with its shipments and of a single line of another order). Then:

- ``settings`` (home A): DuckDB and PostgreSQL (``publish_bronze``) built *incrementally* over the increment, with
  every data and unit test (``dbt build``);
- ``full``: the same lake built from scratch on DuckDB (``--full-refresh``) — the reference the incremental builds
  and the PostgreSQL build must equal.

Five dbt invocations in all; tests that need no PostgreSQL read the DuckDB builds.
"""

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
# Two threads: the machine has two cores and dbt's nodes are short.
THREADS = ["--threads", "2"]


@dataclasses.dataclass
class BuiltProject:
    settings: Settings
    full: Settings
    pg_uri: str
    history: object
    cutoff: dt.datetime
    deleted_order_id: int
    deleted_line_id: int
    rows_before_delete: dict[str, int]
    publish_increment: dict[str, object]
    build_results: dict[str, object]


def _deletions(after: dict) -> tuple[dict[str, list[int]], int, int]:
    """Ids to tombstone: one shipped order with everything hanging off it, and one line of a multi-line order."""
    import polars as pl

    t = {k: pl.from_arrow(v) for k, v in after.items() if not k.startswith(("sim__", "feeds__"))}
    shipped = t["shipments"].filter(pl.col("order_id").is_not_null())["order_id"].unique().sort()
    order_id = int(shipped[len(shipped) // 2])
    lines = t["order_lines"].filter(pl.col("order_id") == order_id)["id"].to_list()
    shipments = t["shipments"].filter(pl.col("order_id") == order_id)["id"].to_list()
    deleted = {
        "orders": [order_id],
        "order_lines": lines,
        "reservations": t["reservations"].filter(pl.col("order_line_id").is_in(lines))["id"].to_list(),
        "pick_tasks": t["pick_tasks"].filter(pl.col("order_line_id").is_in(lines))["id"].to_list(),
        "shipments": shipments,
        "shipment_lines": t["shipment_lines"].filter(pl.col("shipment_id").is_in(shipments))["id"].to_list(),
        "tracking_events": t["tracking_events"]
        .filter(pl.col("shipment_id").is_in(shipments))["id"]
        .to_list(),
    }
    # A line without shipments, reservations or picks of an order that keeps other lines.
    busy = set(t["shipment_lines"]["order_line_id"].drop_nulls().to_list()) | set(
        t["reservations"]["order_line_id"].to_list()
    )
    multi = t["order_lines"].group_by("order_id").len().filter(pl.col("len") > 1)["order_id"]
    candidates = t["order_lines"].filter(
        pl.col("order_id").is_in(multi) & ~pl.col("id").is_in(list(busy)) & (pl.col("order_id") != order_id)
    )
    line_id = int(candidates["id"].sort()[0])
    deleted["order_lines"] = [*lines, line_id]
    return deleted, order_id, line_id


def _without(tables: dict, deleted: dict[str, list[int]]) -> dict:
    """``tables`` minus the rows of ``deleted`` ids: rows deleted in the OLTP are not delivered again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for name, table in tables.items():
        ids = deleted.get(name)
        out[name] = (
            table.filter(pc.invert(pc.is_in(table["id"], pa.array(ids, table["id"].type)))) if ids else table
        )
    return out


def _count_rows(settings: Settings, order_id: int, line_id: int) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return {
            "fct_order_lines": con.execute(
                "select count(*) from marts.fct_order_lines where order_id = ? or order_line_id = ?",
                [order_id, line_id],
            ).fetchall()[0][0],
            "fct_orders": con.execute(
                "select count(*) from marts.fct_orders where order_id = ?", [order_id]
            ).fetchall()[0][0],
            "fct_shipments": con.execute(
                "select count(*) from marts.fct_shipments where order_id = ?", [order_id]
            ).fetchall()[0][0],
        }


@pytest.fixture(scope="session")
def dbt_built(
    pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltProject]:
    from factories.bronze import (
        HistoryConfig,
        changed_rows,
        load_oltp,
        synthesize_history,
        tombstone_bronze,
        write_bronze,
        write_landing,
    )

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
    full = Settings(home=tmp_path_factory.mktemp("dbt_full"), lake_root=settings.lake_root, pg_dsn=uri)

    history = synthesize_history(
        HistoryConfig(days=HISTORY_DAYS, items=12, warehouses=2, customers=30, seed=11)
    )
    cutoff = history.end - dt.timedelta(days=INCREMENT_DAYS)
    before = history.as_of(cutoff)
    load_oltp(uri, before)
    # The real ingest: OLTP tables by change capture, feeds from landing files.
    write_landing(settings.landing_dir, before)
    report = run_ingest(settings)
    failed = [(r.table, r.error) for r in report.results if r.status == "failed"]
    assert not failed, failed

    try:
        # Initial builds (models and seeds: the tests run on the final builds).
        untested = ["build", "--exclude-resource-type", "test", "unit_test", *THREADS]
        run_dbt(untested, settings, target="duckdb")
        publish_bronze(settings.lake_root, uri)
        run_dbt(untested, settings, target="postgres")

        # The increment, in two runs. First the rows changed in its first half, then deletions; then the rows
        # changed in its second half. A deletion makes the marts refreshed by period recompute every period, so
        # the second run is the one that checks their refresh of the changed periods only.
        after = history.as_of()
        halfway = history.as_of(cutoff + dt.timedelta(days=INCREMENT_DAYS / 2))
        deleted, order_id, line_id = _deletions(after)
        rows_before = _count_rows(settings, order_id, line_id)
        now = dt.datetime.now(dt.UTC)
        write_bronze(settings.lake_root, changed_rows(before, halfway), ingested_at=now, mode="merge")
        tombstone_bronze(settings.lake_root, deleted, ingested_at=now + dt.timedelta(seconds=1))
        run_dbt(untested, settings, target="duckdb")
        publish_bronze(settings.lake_root, uri)
        run_dbt(untested, settings, target="postgres")
        later = _without(changed_rows(halfway, after), deleted)
        write_bronze(settings.lake_root, later, ingested_at=now + dt.timedelta(seconds=2), mode="merge")

        results = {"duckdb": run_dbt(["build", *THREADS], settings, target="duckdb")}
        published = {r.table: r for r in publish_bronze(settings.lake_root, uri)}
        results["postgres"] = run_dbt(["build", *THREADS], settings, target="postgres")
        results["full"] = run_dbt(["build", "--full-refresh", *THREADS], full, target="duckdb")
        yield BuiltProject(
            settings=settings,
            full=full,
            pg_uri=uri,
            history=history,
            cutoff=cutoff,
            deleted_order_id=order_id,
            deleted_line_id=line_id,
            rows_before_delete=rows_before,
            publish_increment=published,
            build_results=results,
        )
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
