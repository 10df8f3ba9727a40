"""One simulated, fully materialised home shared by the orchestration integration tests (a whole-graph run costs
minutes; every test here reads it, and the destructive ones run last and restore what they break)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql


@dataclass
class Orchestrated:
    home: Path
    pg_uri: str
    settings: Any
    defs: Any
    report: Any


@pytest.fixture(scope="session")
def orchestrated(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, pg_template: str
) -> Iterator[Orchestrated]:
    """A home with a small simulated history (60 days, 15 items, 2 warehouses) and the whole graph materialised."""
    from oltp.bootstrap import initialise
    from oltp.simulator import SimulationConfig, simulate
    from orchestration.runner import prepare, run_graph
    from stockyard.pg import with_database
    from stockyard.settings import get_settings

    name = f"sy_orch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(pg_template)
            )
        )
    uri = with_database(pg_server, name)
    home = tmp_path_factory.mktemp("orchestrated") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("STOCKYARD_HOME", str(home))
    mp.setenv("STOCKYARD_PG_DSN", uri)
    mp.delenv("STOCKYARD_DBT_TARGET", raising=False)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        initialise(settings)
        simulate(
            SimulationConfig(days=60, skus=15, warehouses=2, seed=11, mode="bulk", show_progress=False),
            settings=settings,
        )
        prepare(settings)
        from orchestration.definitions import defs

        report = run_graph(settings=settings, defs=defs)
        yield Orchestrated(home=home, pg_uri=uri, settings=settings, defs=defs, report=report)
    finally:
        mp.undo()
        get_settings.cache_clear()
        from oltp.db import _engine_for

        _engine_for.cache_clear()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
