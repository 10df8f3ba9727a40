"""``stockyard init`` through oltp.bootstrap: directories, migrations, idempotent reference data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from oltp.bootstrap import REFERENCE_CARRIERS, initialise
from oltp.db import get_engine
from stockyard.settings import get_settings


def test_initialise_is_idempotent(stockyard_home: Path, pg_uri: str) -> None:
    settings = get_settings()
    first = initialise(settings)
    second = initialise(settings)
    n_services = sum(len(services) for _, services in REFERENCE_CARRIERS.values())
    assert first == second
    assert first["carriers"] == len(REFERENCE_CARRIERS) and first["carrier_services"] == n_services
    assert first["migration_revision"] is not None
    assert first["postgres"].startswith("postgresql://")
    for sub in ("landing", "lake/bronze", "lake/silver", "lake/gold", "lake/quarantine", "mlflow"):
        assert (stockyard_home / sub).is_dir()
    engine = get_engine(pg_uri)
    try:
        with engine.connect() as c:
            modes = c.execute(text("select distinct mode from carrier_services order by 1")).scalars().all()
    finally:
        engine.dispose()
    assert modes == ["ltl", "parcel", "reefer"]
