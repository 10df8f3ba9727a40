"""The view materialisation leaves a current view alone and rebuilds a stale or missing one (PostgreSQL)."""

from __future__ import annotations

import psycopg

from stockyard.dbt import run_dbt

VIEW = "stg_oltp__carriers"


def _view_state(uri: str) -> tuple[int | None, str | None]:
    """The view's oid (None when missing) and its recorded hash."""
    with psycopg.connect(uri) as conn:
        oid = conn.execute("select to_regclass(%s)::oid", (f"staging.{VIEW}",)).fetchone()[0]
        recorded = conn.execute(
            "select sql_hash from staging.dbt_view_versions where view_name = %s", (VIEW,)
        ).fetchall()
    assert len(recorded) <= 1
    return oid, recorded[0][0] if recorded else None


def test_views_are_rebuilt_only_when_stale_or_missing(dbt_built):
    uri, run = dbt_built.pg_uri, ["run", "--select", VIEW, "--threads", "1"]
    built, recorded = _view_state(uri)
    assert built is not None and recorded is not None

    run_dbt(run, dbt_built.settings, target="postgres")
    assert _view_state(uri) == (built, recorded), "a current view was re-created"

    with psycopg.connect(uri) as conn:
        conn.execute("update staging.dbt_view_versions set sql_hash = 'stale' where view_name = %s", (VIEW,))
    run_dbt(run, dbt_built.settings, target="postgres")
    rebuilt, again = _view_state(uri)
    assert rebuilt != built and again == recorded

    with psycopg.connect(uri) as conn:
        conn.execute(f"drop view staging.{VIEW}")
    run_dbt(run, dbt_built.settings, target="postgres")
    recreated = _view_state(uri)[0]
    assert recreated not in (None, rebuilt)

    run_dbt([*run, "--full-refresh"], dbt_built.settings, target="postgres")
    assert _view_state(uri)[0] not in (None, recreated)
