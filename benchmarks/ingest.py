"""Benchmark: OLTP → bronze Delta ingest against its peers, full and incremental, three table sizes.

Run: ``.venv/bin/python benchmarks/ingest.py [--wait-quiet 600] [--quiet-load 1]`` (writes
``benchmarks/results/ingest.md``). ``--wait-quiet S`` polls the 1-minute load average for up to S seconds until it
drops below ``--quiet-load`` (the machine is shared); the report records the load when measuring starts either way.

A dedicated embedded PostgreSQL in a temporary STOCKYARD_HOME is filled with FK-consistent rows by
``INSERT ... SELECT generate_series`` (orders → order_lines, inventory_ledger), first at the small size, then grown
to the large one (every method) and to twice that (stockyard and the ceilings only: the peers' figures at two sizes
are enough, and the third size is there to see whether stockyard's peak memory still grows with the table). Every measurement runs in its own subprocess so its peak RSS (``ru_maxrss``) is its own:

- ``stockyard``: ``ingest.run.ingest_table`` (ADBC stream → Delta; the ledger partitioned by date) — full load into
  an empty lake, then an incremental load after 1 % of the rows changed (order_lines: updates of the most recent
  1 %; ledger: 1 % new rows).
- ``copy_ceiling``: ``COPY (select * ...) TO STDOUT (FORMAT binary)`` drained by psycopg with no processing.
- ``adbc_drain``: the ADBC driver's Arrow stream counted, not written (extraction alone).
- ``pandas``: ``pandas.read_sql`` (SQLAlchemy/psycopg) + ``write_deltalake``, on at most ``PANDAS_ROWS`` rows
  (``limit``): it is ~20k rows/s, so the 5M-row ledger alone took over 3 minutes; rows/s is compared.
- ``dlt``: dlt ``sql_table`` (pyarrow backend, its fastest documented one) → filesystem destination, Delta format.
- ``connectorx``: ``connectorx.read_sql(return_type="arrow")`` + ``write_deltalake``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Sibling benchmark scripts (benchmarks/oltp.py) would shadow the packages of the same name.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
RESULTS = ROOT / "benchmarks" / "results" / "ingest.md"
SIZES = {  # (order lines, ledger rows)
    "small": (250_000, 1_250_000),
    "large": (1_000_000, 5_000_000),
    # Twice the large size, stockyard and the ceilings only: whether peak memory keeps growing with the table.
    "xlarge": (2_000_000, 10_000_000),
}
PEERS_AT = {"small", "large"}
TABLES = ("order_lines", "inventory_ledger")
#: pandas reads at most this many rows per table (its rows/s is flat in the row count; the cap bounds run time).
PANDAS_ROWS = 1_000_000


# ------------------------------------------------------------------------------------------------------- worker
def _worker(method: str, uri: str, table: str, lake: str) -> dict:
    # Imports (pyarrow, deltalake, dlt...) take seconds on a loaded machine: they are done before the clock starts.
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import deltalake  # noqa: F401
    import psycopg  # noqa: F401

    if method.startswith("stockyard"):
        from ingest.run import ingest_table
        from ingest.tables import registry

        registry()
    elif method == "pandas":
        import pandas  # noqa: F401
        import sqlalchemy  # noqa: F401
    elif method == "dlt":
        import dlt  # noqa: F401
        from dlt.sources.sql_database import sql_table  # noqa: F401
    elif method == "connectorx":
        import connectorx  # noqa: F401
    postmaster = int(os.environ.get("BENCH_POSTMASTER", "0")) or None
    server0 = _server_cpu_s(postmaster) if postmaster else 0.0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    rows = 0
    if method in ("stockyard", "stockyard_incremental"):
        from ingest.run import ingest_table

        result = ingest_table(table, uri=uri, lake_root=lake)
        rows = result.rows_read
    elif method == "copy_ceiling":
        import psycopg

        with psycopg.connect(uri) as conn, conn.cursor() as cur:
            with cur.copy(f"copy (select * from {table}) to stdout (format binary)") as copy:
                nbytes = 0
                for block in copy:
                    nbytes += len(block)
        # rows are counted below, after the clock and the CPU readings
    elif method == "adbc_drain":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f"select * from {table}")
            for batch in cur.fetch_record_batch():
                rows += batch.num_rows
    elif method == "pandas":
        import pandas as pd
        import sqlalchemy as sa
        from deltalake import write_deltalake

        from stockyard.pg import sqlalchemy_url

        engine = sa.create_engine(sqlalchemy_url(uri))
        df = pd.read_sql(f"select * from {table} limit {PANDAS_ROWS}", engine)
        write_deltalake(f"{lake}/pandas_{table}", df, mode="overwrite")
        rows = len(df)
    elif method == "connectorx":
        import connectorx as cx
        from deltalake import write_deltalake

        arrow = cx.read_sql(uri, f"select * from {table}", return_type="arrow")
        write_deltalake(f"{lake}/cx_{table}", arrow, mode="overwrite")
        rows = arrow.num_rows
    elif method == "dlt":
        import dlt
        from dlt.sources.sql_database import sql_table

        os.environ["DLT_DATA_DIR"] = f"{lake}/dlt_data"
        os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
        os.environ["DLT_TELEMETRY"] = "0"
        os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
        source = sql_table(
            credentials=uri.replace("postgresql://", "postgresql+psycopg://"), table=table, backend="pyarrow"
        )
        pipeline = dlt.pipeline(
            pipeline_name=f"bench_{table}",
            destination=dlt.destinations.filesystem(f"file://{lake}/dlt"),
            dataset_name="bronze",
            pipelines_dir=f"{lake}/dlt_pipelines",
        )
        info = pipeline.run(source, table_format="delta", write_disposition="replace")
        info.raise_on_failed_jobs()
        rows = int(pipeline.last_trace.last_normalize_info.row_counts.get(table, 0))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mb": cpu1.ru_maxrss / 1024,
        # every thread of the measuring process (driver parse, Arrow compute, parquet encode), timed part only
        "client_cpu_s": cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime,
    }
    if postmaster:
        # let the postmaster reap the closed connections' backends (their CPU joins its cutime)
        time.sleep(0.2)
        result["server_cpu_s"] = _server_cpu_s(postmaster) - server0
    if method == "copy_ceiling":
        import psycopg

        with psycopg.connect(uri) as conn:
            result["rows"] = conn.execute(f"select count(*) from {table}").fetchone()[0]
    return result


def _postmaster_pid(uri: str) -> int:
    """The embedded server's postmaster (the parent of any backend)."""
    import psycopg

    with psycopg.connect(uri) as conn:
        backend = conn.execute("select pg_backend_pid()").fetchone()[0]
    status = Path(f"/proc/{backend}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _server_cpu_s(postmaster: int) -> float:
    """CPU seconds of the whole PostgreSQL server so far: the postmaster, its live children, and (through the
    postmaster's ``cutime``/``cstime``) every backend that has exited and been reaped."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(postmaster)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
        try:
            f = stat(int(child))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile: counted in the postmaster's cutime once reaped
        total += int(f[11]) + int(f[12])
    return total / tick


def _measure(
    method: str, uri: str, table: str, lake: Path, timeout: float = 600, postmaster: int | None = None
) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_POSTMASTER=str(postmaster or 0))
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", method, uri, table, str(lake)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(lake),
    )
    if proc.returncode != 0:
        return {
            "rows": 0,
            "seconds": float("nan"),
            "peak_rss_mb": float("nan"),
            "error": proc.stderr.strip()[-300:],
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------- populate
MASTER = """
insert into warehouses (code, name, lat, lon) values ('W1', 'Main', 50, 8), ('W2', 'South', 48, 11);
insert into zones (warehouse_id, code, temperature_class) select id, 'Z1', 'ambient' from warehouses;
insert into locations (warehouse_id, zone_id, code, aisle, bay, level, x, y, z, volume_capacity_m3,
                       weight_capacity_kg, location_type)
  select z.warehouse_id, z.id, 'L' || g, 1, g, 1, 0, 0, 0, 1, 100, 'pick_face' from zones z, generate_series(1, 50) g;
insert into items (code, name, category, family, unit_cost, list_price)
  select 'I' || g, 'Item ' || g, 'cat' || (g % 12), 'fam' || (g % 40), 1 + g % 50, 2 + g % 90
  from generate_series(1, 1000) g;
insert into customers (code, name, lat, lon) select 'C' || g, 'Customer ' || g, 50, 8 from generate_series(1, 1000) g;
"""


def _grow(uri: str, lines: int, ledger: int) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        # The generated rows are FK-consistent by construction: skipping the per-row FK triggers (superuser on the
        # benchmark's own server) roughly halves the populate time. Defaults (txid, timestamps) still apply.
        conn.execute("set session_replication_role = replica")
        have_orders = conn.execute("select coalesce(max(id), 0) from orders").fetchone()[0]
        have_ledger = conn.execute("select count(*) from inventory_ledger").fetchone()[0]
        want_orders = lines // 4
        conn.execute(
            f"""insert into orders (order_number, customer_id, warehouse_id, ordered_at, status)
            select 'O' || g, 1 + g % 1000, 1 + g % 2, timestamptz '2023-01-01' + (g % 730) * interval '1 day', 'new'
            from generate_series({have_orders + 1}, {want_orders}) g"""
        )
        conn.execute(
            f"""insert into order_lines (order_id, line_number, item_id, quantity_ordered, unit_price, is_promo)
            select o, k, 1 + (o * 7 + k) % 1000, 1 + (o + k) % 9, 1.5 + (o % 17), (o + k) % 11 = 0
            from generate_series({have_orders + 1}, {want_orders}) o, generate_series(1, 4) k"""
        )
        conn.execute(
            f"""insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta,
                   reason, reference_type, reference_id)
            select timestamptz '2023-01-01' + (g % 730) * interval '1 day' + (g % 86400) * interval '1 second',
                   1 + g % 2, 1 + g % 100, 1 + g % 1000, case when g % 3 = 0 then 5 else -1 end,
                   case when g % 3 = 0 then 'receipt' else 'pick' end, 'order', g
            from generate_series({have_ledger + 1}, {ledger}) g"""
        )
        conn.execute("set session_replication_role = default")
        conn.execute("vacuum analyze orders, order_lines, inventory_ledger")


def _change_one_percent(uri: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        n_lines = conn.execute("select count(*) from order_lines").fetchone()[0] // 100
        conn.execute(
            f"update order_lines set quantity_cancelled = 1 where id > (select max(id) from order_lines) - {n_lines}"
        )
        n_ledger = conn.execute("select count(*) from inventory_ledger").fetchone()[0] // 100
        conn.execute(
            f"""insert into inventory_ledger (occurred_at, warehouse_id, location_id, item_id, quantity_delta, reason)
            select now() - (g % 3) * interval '1 day', 1, 1, 1 + g % 1000, 1, 'adjustment'
            from generate_series(1, {n_ledger}) g"""
        )
    return {"order_lines": n_lines, "inventory_ledger": n_ledger}


# ------------------------------------------------------------------------------------------------------- report
def _machine() -> list[str]:
    import adbc_driver_postgresql
    import deltalake
    import pyarrow

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; RAM {mem_gb:.1f} GB; {platform.platform()}",
        f"- Python {platform.python_version()}, pyarrow {pyarrow.__version__}, deltalake {deltalake.__version__}, "
        f"adbc-driver-postgresql {adbc_driver_postgresql.__version__}",
        f"- load average at start (shared machine): {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def wait_quiet(limit_s: float, threshold: float) -> tuple[float, float]:
    """Poll the 1-minute load average until it is below ``threshold`` or ``limit_s`` passed.

    Args:
        limit_s: Longest wait in seconds.
        threshold: Load counted as quiet.

    Returns:
        ``(load, seconds waited)``.
    """
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < threshold or waited >= limit_s:
            return load, waited
        time.sleep(15)


def _fmt(r: dict) -> tuple[str, str, str]:
    if "error" in r:
        return ("failed", "", r["error"].splitlines()[-1][:80] if r["error"] else "")
    rate = r["rows"] / r["seconds"] if r["seconds"] else 0
    return (f"{r['seconds']:.2f}", f"{rate:,.0f}", f"{r['peak_rss_mb']:.0f}")


def main(wait_s: float = 0, quiet_load: float = 1.0) -> None:
    from oltp.migrate import upgrade
    from stockyard.pg import ensure_postgres, stop_postgres
    from stockyard.settings import Settings

    lines_out = [
        "# Ingest benchmark: OLTP → bronze Delta",
        "",
        f"Command: `.venv/bin/python benchmarks/ingest.py{f' --wait-quiet {wait_s:.0f}' if wait_s else ''}`",
        "",
    ]
    if wait_s:
        load, waited = wait_quiet(wait_s, quiet_load)
        state = "quiet" if load < quiet_load else "never quiet; measured anyway"
        lines_out.append(
            f"- waited {waited:.0f} s for a 1-minute load below {quiet_load:g}: {load:.2f} ({state})"
        )
    lines_out += _machine()
    wall = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="stockyard_bench_ingest_"))
    settings = Settings(home=home, pg_port=0)
    uri = ensure_postgres(settings)
    results: dict[tuple[str, str, str], dict] = {}
    changed: dict[str, dict[str, int]] = {}
    try:
        upgrade(uri)
        import psycopg

        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(MASTER)
        postmaster = _postmaster_pid(uri)
        for size, (n_lines, n_ledger) in SIZES.items():
            t0 = time.perf_counter()
            _grow(uri, n_lines, n_ledger)
            print(f"[{size}] populated in {time.perf_counter() - t0:.0f}s", flush=True)
            lake = home / f"lake_{size}"
            lake.mkdir()
            for table in TABLES:
                methods = ["copy_ceiling", "adbc_drain", "stockyard"]
                if size in PEERS_AT:
                    methods += ["connectorx", "pandas", "dlt"]
                for method in methods:
                    results[(size, table, method)] = r = _measure(
                        method, uri, table, lake, postmaster=postmaster
                    )
                    print(f"[{size}] {table} {method}: {_fmt(r)}", flush=True)
            changed[size] = _change_one_percent(uri)
            for table in TABLES:
                results[(size, table, "stockyard_incremental")] = r = _measure(
                    "stockyard_incremental", uri, table, lake, postmaster=postmaster
                )
                print(f"[{size}] {table} incremental: {_fmt(r)}", flush=True)
            shutil.rmtree(lake, ignore_errors=True)
    finally:
        stop_postgres(settings)
        shutil.rmtree(home, ignore_errors=True)

    lines_out += [
        f"- sizes: {', '.join(f'{k}: {v[0]:,} order lines + {v[1]:,} ledger rows' for k, v in SIZES.items())}",
        "- incremental: order_lines = the most recent 1 % updated; inventory_ledger = 1 % new rows appended",
        f"- pandas reads at most {PANDAS_ROWS:,} rows of a table (`limit`); its rows/s is what is compared",
        f"- total benchmark wall time: {time.perf_counter() - wall:.0f} s",
        "",
        "## Full loads (rows/s, peak RSS of the measuring subprocess)",
        "",
        "| size | table | method | rows | seconds | rows/s | peak RSS MB | client CPU s | server CPU s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (size, table, method), r in results.items():
        if method == "stockyard_incremental":
            continue
        s, rate, rss = _fmt(r)
        lines_out.append(
            f"| {size} | {table} | {method} | {r['rows']:,} | {s} | {rate} | {rss} "
            f"| {r.get('client_cpu_s', float('nan')):.2f} | {r.get('server_cpu_s', float('nan')):.2f} |"
        )
    lines_out += ["", "## Ratios (stockyard full load vs peers; incremental vs full)", ""]
    lines_out += [
        "| size | table | vs COPY ceiling | vs pandas | vs dlt | vs connectorx | incremental / full time | incremental rows |"
    ]
    lines_out += ["| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def rate(size: str, table: str, method: str) -> float:
        r = results.get((size, table, method))
        if not r or "error" in r or not r["seconds"]:
            return float("nan")
        return r["rows"] / r["seconds"]

    def times(size: str, table: str, peer: str, digits: int) -> str:
        if (size, table, peer) not in results:
            return "–"  # the peer is not run at this size
        return f"{rate(size, table, 'stockyard') / rate(size, table, peer):.{digits}f}×"

    for size in SIZES:
        for table in TABLES:
            full = results[(size, table, "stockyard")]["seconds"]
            inc = results[(size, table, "stockyard_incremental")]
            lines_out.append(
                f"| {size} | {table} | {times(size, table, 'copy_ceiling', 2)} "
                f"| {times(size, table, 'pandas', 1)} | {times(size, table, 'dlt', 1)} "
                f"| {times(size, table, 'connectorx', 2)} "
                f"| {inc['seconds'] / full:.1%} ({inc['seconds']:.2f} s) | {inc['rows']:,} |"
            )
    cores = os.cpu_count() or 1
    lines_out += [
        "",
        f"## CPU budget of a full load on this machine ({cores} cores)",
        "",
        "Client CPU is every thread of the measuring process in the timed part; server CPU is the whole PostgreSQL",
        "server's over the same window (its postmaster, live children and reaped backends, from `/proc`). However",
        "well the work overlaps, a load cannot finish in less than (client + server CPU) / cores seconds; the",
        "0.7× target asks for the COPY ceiling's time / 0.7.",
        "",
        "| size | table | COPY ceiling s | target (ceiling / 0.7) s | stockyard s | stockyard client + server CPU s "
        "| CPU floor on this machine s | floor vs target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size in SIZES:
        for table in TABLES:
            ours, ceiling = results[(size, table, "stockyard")], results[(size, table, "copy_ceiling")]
            if "error" in ours or "error" in ceiling:
                continue
            cpu = ours.get("client_cpu_s", float("nan")) + ours.get("server_cpu_s", float("nan"))
            floor, target = cpu / cores, ceiling["seconds"] / 0.7
            verdict = "target out of reach by CPU alone" if floor > target else "reachable"
            lines_out.append(
                f"| {size} | {table} | {ceiling['seconds']:.2f} | {target:.2f} | {ours['seconds']:.2f} "
                f"| {cpu:.2f} | {floor:.2f} | {verdict} |"
            )
    lines_out += [
        "",
        "## Peak memory of stockyard's full load by table size",
        "",
        "Peak RSS of the measuring subprocess (`ru_maxrss`, imports included); growth is against the previous size.",
        "",
        "| table | size | rows | peak RSS MB | rows × previous | peak RSS × previous |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for table in TABLES:
        previous = None
        for size in SIZES:
            r = results[(size, table, "stockyard")]
            if "error" in r:
                continue
            rows_x = rss_x = "–"
            if previous is not None:
                rows_x = f"{r['rows'] / previous['rows']:.1f}×"
                rss_x = f"{r['peak_rss_mb'] / previous['peak_rss_mb']:.2f}×"
            lines_out.append(
                f"| {table} | {size} | {r['rows']:,} | {r['peak_rss_mb']:.0f} | {rows_x} | {rss_x} |"
            )
            previous = r
    lines_out += [
        "",
        "Targets: ≥ 0.7× the COPY ceiling, ≥ 5× pandas, ≥ 2× dlt, incremental 1 % ≤ 5 % of the full load's time,",
        "peak memory independent of table size (the table above). The COPY ceiling only moves bytes to",
        "the client; `adbc_drain` is extraction into Arrow with no write (of `select *`: order_lines' numeric then",
        "travels as text, which stockyard avoids by shipping it as a scaled int8). ADBC (the driver parses COPY binary into",
        "Arrow in C) was chosen over parsing COPY binary ourselves: a Python-level parser cannot approach it.",
        "Errors of peer tools are shown as `failed` with their last message.",
        "",
        "Where the rest goes (cProfile of `ingest_table` on the large size, see the commits touching `ingest/`):",
        "an incremental run has a floor of fixed costs that do not shrink with the change: the ADBC connection",
        "(~35 ms: the driver reads the `pg_type` catalog on connect; the benchmark opens one per process, `run_ingest`",
        "shares one over all tables), one Delta commit (~30 ms append, ~50 ms merge of 10,000 rows into the 1-2 files",
        "their key ranges hit), and ~15 ms of snapshot and catalog queries. Against a full load of about one second",
        "(order_lines at either size, the small ledger) that floor alone is above 5 %. A full load is CPU-bound on",
        "2 cores: PostgreSQL's COPY, the driver's parse and the parquet encode share them; the monthly partitioning",
        "of the ledger costs ~0.5 s of 4 s (the same rows unpartitioned) and most of its memory, see",
        "`ingest/load_delta.py`.",
    ]
    errors = [f"- {k}: {v['error']}" for k, v in results.items() if "error" in v]
    if errors:
        lines_out += ["", "## Errors", "", *errors]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines_out) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(*sys.argv[2:6])))
    else:
        import argparse

        ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run, not a report)")
        ap.add_argument("--wait-quiet", type=float, default=0, help="seconds to wait for a quiet machine")
        ap.add_argument(
            "--quiet-load",
            type=float,
            default=1.0,
            help="1-minute load average counted as quiet (2 cores: a load of 2-3 means both are taken)",
        )
        args = ap.parse_args()
        if args.quick:
            SIZES.clear()
            SIZES.update(
                {"small": (40_000, 200_000), "large": (80_000, 400_000), "xlarge": (160_000, 800_000)}
            )
            RESULTS = RESULTS.with_suffix(".quick.md")
        main(args.wait_quiet, args.quiet_load)
