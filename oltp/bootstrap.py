"""``stockyard init``: home directories, PostgreSQL, migrations and the minimal reference data.

Reference data is only what every installation needs before the first order: a few carriers and their services
(one per transport mode the services handle). Everything else (warehouses, items, customers, lane rates) comes from
``stockyard simulate`` or ``stockyard import``. Loading is idempotent: a second ``init`` changes nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oltp.models import Carrier, CarrierService
from stockyard.settings import Settings

__all__ = ["REFERENCE_CARRIERS", "initialise", "load_reference_data"]

# carrier code -> (name, [(service code, mode, promised transit days)])
REFERENCE_CARRIERS: dict[str, tuple[str, list[tuple[str, str, int]]]] = {
    "PARCELNET": ("ParcelNet", [("GROUND", "parcel", 3), ("EXPRESS", "parcel", 1)]),
    "ROADFREIGHT": ("RoadFreight LTL", [("LTL", "ltl", 4)]),
    "COLDLINK": ("ColdLink", [("REEFER", "reefer", 2)]),
}


def load_reference_data(session: Session) -> dict[str, int]:
    """Insert the reference carriers and services that are missing (existing rows are left untouched).

    Args:
        session: Open session (the caller commits).

    Returns:
        ``{carriers, carrier_services}``: how many of each exist afterwards.
    """
    for code, (name, services) in REFERENCE_CARRIERS.items():
        session.execute(
            pg_insert(Carrier).values(code=code, name=name).on_conflict_do_nothing(index_elements=["code"])
        )
        carrier_id = session.scalar(select(Carrier.id).where(Carrier.code == code))
        for svc, mode, days in services:
            session.execute(
                pg_insert(CarrierService)
                .values(carrier_id=carrier_id, code=svc, mode=mode, promised_transit_days=days)
                .on_conflict_do_nothing(index_elements=["carrier_id", "code"])
            )
    return {
        "carriers": session.scalar(select(func.count()).select_from(Carrier)) or 0,
        "carrier_services": session.scalar(select(func.count()).select_from(CarrierService)) or 0,
    }


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def initialise(settings: Settings) -> dict[str, Any]:
    """Create the home, start (or reach) PostgreSQL, migrate to head and load reference data.

    Args:
        settings: The Stockyard settings.

    Returns:
        A summary: ``home``, ``postgres`` (URI without password), ``migration_revision``, ``carriers``,
        ``carrier_services``.
    """
    from oltp.db import get_engine, session_scope
    from oltp.migrate import current_revision, upgrade
    from stockyard.pg import ensure_postgres

    for directory in (
        settings.home,
        settings.landing_dir,
        settings.bronze_dir,
        settings.silver_dir,
        settings.gold_dir,
        settings.quarantine_dir,
        settings.home / "mlflow",
    ):
        directory.mkdir(parents=True, exist_ok=True)
    uri = ensure_postgres(settings)
    upgrade(uri)
    with session_scope(get_engine(uri)) as session:
        counts = load_reference_data(session)
    return {
        "home": str(settings.home),
        "postgres": _without_password(uri),
        "migration_revision": current_revision(uri),
        **counts,
    }
