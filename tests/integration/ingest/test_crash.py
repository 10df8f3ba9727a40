"""Crash simulation: an ingest subprocess is SIGKILLed at random points while the source keeps changing; a final
clean run must leave bronze exactly equal to the source (no duplicates, nothing lost)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psycopg

from ingest.run import run_ingest
from integration.ingest.ingest_helpers import CORE, add_orders, assert_reconciled, settings_for

CHILD = """
import sys
from ingest.run import run_ingest
from stockyard.settings import Settings
settings = Settings(home=sys.argv[3], pg_dsn=sys.argv[1], lake_root=sys.argv[2])
tables = sys.argv[4].split(",")
while True:
    run_ingest(settings, tables=tables, feeds=False)
"""


def _mutate(uri: str, rng: random.Random) -> None:
    add_orders(uri, rng.randint(1, 20))
    with psycopg.connect(uri) as conn:
        conn.execute(
            "update order_lines set quantity_cancelled = quantity_cancelled + 1 "
            "where id in (select id from order_lines order by random() limit 5)"
        )
        conn.execute(
            "delete from order_lines where id in (select id from order_lines order by random() limit 2)"
        )
        conn.execute(
            "insert into order_status_history (order_id, to_status, changed_at) "
            "select id, 'allocated', now() from orders order by random() limit 3"
        )


def test_sigkill_at_random_points_then_reconcile(seeded: str, lake: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    deadline = time.monotonic() + 45
    kills = 0
    while kills < 20 and time.monotonic() < deadline:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, seeded, str(lake), str(tmp_path / "home"), ",".join(CORE)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _mutate(seeded, rng)  # the source changes while the child ingests
            time.sleep(rng.uniform(0.3, 2.5))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        kills += 1
    assert kills >= 10
    report = run_ingest(settings_for(seeded, lake), tables=CORE, feeds=False)
    assert report.ok, report.failed
    assert_reconciled(seeded, lake, CORE)
    for table in CORE:
        ids = pl.read_delta(str(lake / "bronze" / table)).get_column("id")
        assert ids.is_duplicated().sum() == 0, table
