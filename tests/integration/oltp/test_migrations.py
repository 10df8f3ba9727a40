"""Migrations apply to an empty database, revert cleanly and re-apply."""

import psycopg

from oltp.migrate import current_revision, downgrade, upgrade
from oltp.models import Base


def _tables(uri: str) -> set[str]:
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('public', 'sim') and table_name <> 'alembic_version'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(empty_pg_uri: str) -> None:
    upgrade(empty_pg_uri)
    assert current_revision(empty_pg_uri) is not None
    expected = {f"public.{name}" for name in Base.metadata.tables}
    assert expected <= _tables(empty_pg_uri)
    assert "sim.expected_demand" in _tables(empty_pg_uri)

    downgrade(empty_pg_uri)
    assert current_revision(empty_pg_uri) is None
    assert _tables(empty_pg_uri) == set()

    upgrade(empty_pg_uri)
    assert expected <= _tables(empty_pg_uri)


def test_updated_at_trigger_and_delete_capture(pg_uri: str) -> None:
    with psycopg.connect(pg_uri) as conn:
        wid = conn.execute(
            "insert into warehouses (code, name, lat, lon) values ('W1', 'One', 1, 2) returning id"
        ).fetchone()[0]
        conn.commit()
        before = conn.execute("select updated_at from warehouses where id = %s", (wid,)).fetchone()[0]
        conn.execute("update warehouses set name = 'Uno' where id = %s", (wid,))
        conn.commit()
        after = conn.execute("select updated_at from warehouses where id = %s", (wid,)).fetchone()[0]
        assert after > before
        conn.execute("delete from warehouses where id = %s", (wid,))
        conn.commit()
        deleted = conn.execute("select table_name, row_id from cdc_deletes").fetchall()
    assert deleted == [("warehouses", wid)]


def test_constraints_reject_bad_states(pg_uri: str) -> None:
    import pytest

    with psycopg.connect(pg_uri) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into warehouses (code, name, lat, lon) values ('W', 'x', 95, 0)")
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "insert into items (code, name, category, family, temperature_class) "
                "values ('I', 'x', 'c', 'f', 'lukewarm')"
            )
        conn.rollback()
