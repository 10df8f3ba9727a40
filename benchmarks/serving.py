"""Serving benchmark: Stockyard's API vs ``mlflow models serve`` on the same champion model and inputs.

Run: ``.venv/bin/python benchmarks/serving.py [--seconds 10] [--concurrency 16] [--rate 200] [--wait-quiet 600]``;
writes
``benchmarks/results/serving.md``.

Set-up (in a temporary home): an embedded PostgreSQL with migrated schema and small master data, a simulated demand
history (written as the gold ``fct_demand_daily`` Parquet), a LightGBM demand model logged as the project's pyfunc
and made ``champion`` in a SQLite MLflow registry, and an API key. Then two servers, one worker each:

* ``stockyard serve`` (uvicorn + FastAPI): ``POST /v1/forecast`` takes ``{item, warehouse, horizon}``, builds the
  28 feature rows (cached per series) and calls the pyfunc; ``POST /v1/orders`` places and allocates an order in
  PostgreSQL.
* ``mlflow models serve --env-manager local``: ``POST /invocations`` with the same 28 feature rows per series (it
  cannot build features), i.e. the same model on the same inputs.

Load comes from a second process: ``wrk`` closed loop at fixed concurrency for throughput, and an open-loop
fixed-rate generator (this script with ``--open-loop-worker``, asyncio on uvloop over raw keep-alive HTTP/1.1
connections; wrk2 is not installed) for latency at 200 requests/s. The open-loop generator schedules request ``k`` at
``t0 + k / rate`` whatever the server does, and measures each latency from its *scheduled* time, so a server that
falls behind is charged for the queue it causes (no coordinated omission); it also reports how late it itself sent
(its own lag), so a generator that could not keep up is visible. Requests unanswered ``--grace`` seconds after the
last scheduled one count as infinitely slow. Servers and load generator share the machine's cores. The script
first waits (up to ``--wait-quiet`` s) for a 1-minute load average below 3, and records the load it started with.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the small deterministic master-data factory

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

RESULT = ROOT / "benchmarks" / "results" / "serving.md"

_WRK_LUA = """
local bodies = {}
local n = 0
for line in io.lines("%(bodies)s") do n = n + 1; bodies[n] = line end
local i = 0
local headers = {["Content-Type"] = "application/json"%(auth)s}
request = function()
  i = i %% n + 1
  return wrk.format("POST", "%(path)s", headers, bodies[i])
end
done = function(summary, latency, requests)
  io.write("WRKJSON " .. string.format(
    '{"requests": %%d, "duration_us": %%d, "non2xx": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _machine() -> dict[str, Any]:
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(
            ln.split()[1]
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        )
    )
    import fastapi
    import lightgbm
    import mlflow
    import uvicorn

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {"fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__, "mlflow": mlflow.__version__,
                     "lightgbm": lightgbm.__version__},
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        if shutil.which("wrk") else "not installed",
    }  # fmt: skip


def _register_champion(tracking_uri: str, history: Any) -> str:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    from ml.forecasting.config import ForecastConfig
    from ml.forecasting.features import build_inference_features
    from ml.forecasting.tracking import DemandForecastPyfunc
    from ml.forecasting.train import train_model

    mlflow.set_tracking_uri(tracking_uri)
    model = train_model(history, ForecastConfig(num_boost_round=150, num_threads=1, max_train_rows=60_000))
    example = build_inference_features(history, horizon=28).head(5).to_pandas()
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=DemandForecastPyfunc(),
            artifacts={"forecast_model": str(model.save(Path(tmp) / "forecast_model"))},
            signature=infer_signature(example, model.predict(example).to_pandas()),
            input_example=example,
            registered_model_name="demand_forecast",
        )
    version = str(info.registered_model_version)
    MlflowClient(tracking_uri=tracking_uri).set_registered_model_alias("demand_forecast", "champion", version)
    return version


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server did not come up: {url}\n{log.read_text()[-3000:]}")


def _wrk(
    url: str,
    path: str,
    bodies: Path,
    auth: str | None,
    seconds: int,
    concurrency: int,
    work: Path,
) -> dict[str, Any]:
    """Run wrk closed loop: ``concurrency`` connections, each sending its next request when answered."""
    script = work / f"wrk_{bodies.stem}.lua"
    auth_lua = f', ["Authorization"] = "{auth}"' if auth else ""
    script.write_text(_WRK_LUA % {"bodies": bodies, "auth": auth_lua, "path": path})
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    res = json.loads(
        next(ln for ln in out.splitlines() if ln.startswith("WRKJSON ")).removeprefix("WRKJSON ")
    )
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    return res


_OPEN_LOOP_CONNECTIONS = 32


async def _http_exchange(reader: Any, writer: Any, request: bytes) -> int:
    """Send one request on a keep-alive connection and read the whole response; return the status."""
    writer.write(request)
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    if close:
        raise ConnectionResetError("server closed the connection")
    return status


async def _open_loop_async(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    host, port, rate, seconds = spec["host"], spec["port"], spec["rate"], spec["seconds"]
    auth = f"Authorization: {spec['auth']}\r\n" if spec.get("auth") else ""
    requests = [
        (
            f"POST {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{auth}"
            f"Content-Length: {len(body.encode())}\r\n\r\n"
        ).encode() + body.encode()
        for body in Path(spec["bodies"]).read_text().splitlines() if body
    ]  # fmt: skip
    # uvloop's loop.time() ticks in whole milliseconds: measure with perf_counter.
    clock = time.perf_counter
    idle: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
    for _ in range(spec.get("connections", _OPEN_LOOP_CONNECTIONS)):
        idle.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    lags: list[float] = []
    counts = {"non2xx": 0, "errors": 0}
    last_done = 0.0

    async def one(k: int, scheduled: float) -> None:
        nonlocal last_done
        reader, writer = await idle.get()
        try:
            status = await _http_exchange(reader, writer, requests[k % len(requests)])
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            counts["errors"] += 1
            writer.close()
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                return  # the server is gone: this slot stays closed, the error is counted
        else:
            counts["non2xx"] += not 200 <= status < 300
        done = clock()
        latencies.append(done - scheduled)
        last_done = done
        idle.put_nowait((reader, writer))

    n = int(rate * seconds)
    tasks = []
    t0 = clock() + 0.2
    for k in range(n):
        scheduled = t0 + k / rate
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(clock() - scheduled)
        tasks.append(asyncio.create_task(one(k, scheduled)))
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, t0 + seconds + spec["grace"] - clock()))
    for task in pending:
        task.cancel()
    return {
        "scheduled": n,
        "completed": len(latencies),
        "unanswered": len(pending),
        "duration_s": (last_done - t0) if latencies else 0.0,
        "latencies_s": latencies,
        "lag_p99_ms": 1000 * sorted(lags)[int(0.99 * (len(lags) - 1))] if lags else 0.0,
        **counts,
    }


def _open_loop_worker(spec_json: str) -> None:
    """Entry point of the load-generator process: run one open-loop phase, print its result as JSON."""
    import asyncio

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # plain asyncio still works, with more generator overhead
        runner = asyncio.run
    res = runner(_open_loop_async(json.loads(spec_json)))
    sys.stdout.write(json.dumps(res) + "\n")


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1) + 0.5))]


def _open_loop(
    url: str, path: str, bodies: Path, auth: str | None, rate: float, seconds: int, grace: float
) -> dict[str, Any]:
    """One open-loop phase at ``rate`` req/s from a second process; latencies from the scheduled times."""
    host, port = url.removeprefix("http://").split(":")
    spec = {"host": host, "port": int(port), "path": path, "bodies": str(bodies), "auth": auth,
            "rate": rate, "seconds": seconds, "grace": grace}  # fmt: skip
    out = subprocess.run(
        [sys.executable, __file__, "--open-loop-worker", json.dumps(spec)],
        capture_output=True, text=True, check=True, timeout=seconds + grace + 120,
    ).stdout  # fmt: skip
    res = json.loads(out.strip().splitlines()[-1])
    # Unanswered requests are slower than anything answered: they sort last.
    lat = sorted(res.pop("latencies_s")) + [float("inf")] * res["unanswered"]
    res["rps"] = res["completed"] / res["duration_s"] if res["duration_s"] > 0 else 0.0
    res["p50_ms"] = 1000 * _percentile(lat, 0.50) if lat else float("nan")
    res["p99_ms"] = 1000 * _percentile(lat, 0.99) if lat else float("nan")
    res["max_ms"] = 1000 * lat[-1] if lat else float("nan")
    return res


def _wait_for_quiet(max_wait_s: float, threshold: float = 3.0) -> str:
    """Poll the 1-minute load average until it is below ``threshold`` or ``max_wait_s`` passes."""
    started = time.monotonic()
    while os.getloadavg()[0] >= threshold and time.monotonic() - started < max_wait_s:
        time.sleep(15)
    load = os.getloadavg()[0]
    waited = time.monotonic() - started
    if load < threshold:
        return f"waited {waited:.0f} s for a 1-min load below {threshold:g} (it was {load:.2f} then)"
    return f"machine not quiet: 1-min load still {load:.2f} after waiting {waited:.0f} s; ran anyway"


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="Duration of each load phase.")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (closed loop).")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="Open-loop request rate for the latency target."
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="Seconds after the last scheduled request before the rest count as unanswered.",
    )
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--warehouses", type=int, default=3)
    parser.add_argument(
        "--wait-quiet", type=float, default=600.0, help="Max seconds to wait for a 1-min load < 3."
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required (apt-get install wrk)")
    quiet_note = _wait_for_quiet(args.wait_quiet)
    machine = _machine()

    import polars as pl
    from factories.oltp import seed_master_data

    from ml.forecasting.features import build_inference_features
    from ml.forecasting.synthetic import generate_demand
    from oltp.db import get_engine, session_scope
    from oltp.migrate import upgrade
    from serving.apikeys import create_api_key
    from stockyard.pg import ensure_postgres, stop_postgres
    from stockyard.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="sy_bench_serving_"))
    home = work / "home"
    settings = Settings(home=home, pg_port=0)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t_setup = time.perf_counter()
        uri = ensure_postgres(settings)
        upgrade(uri)
        engine = get_engine(uri)
        with session_scope(engine) as s:
            seed_master_data(
                s, warehouses=2, items=10, customers=4, stock_per_item=1_000_000, stocked_warehouses=2
            )
            key = create_api_key(session=s, name="bench", scopes=["admin"])
        history, _ = generate_demand(n_items=args.items, n_warehouses=args.warehouses, n_days=420, seed=7)
        gold = home / "lake" / "gold"
        gold.mkdir(parents=True)
        history.write_parquet(gold / "fct_demand_daily.parquet")
        (home / "mlflow").mkdir(parents=True)
        tracking_uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
        version = _register_champion(tracking_uri, history)

        # Inputs: the same series for both servers; ours gets codes, mlflow the 28 feature rows of the series.
        series = history.select("item", "warehouse").unique().sort("item", "warehouse").rows()
        ours_bodies = work / "ours_forecast.jsonl"
        ours_bodies.write_text(
            "\n".join(json.dumps({"item": i, "warehouse": w, "horizon": 28}) for i, w in series) + "\n"
        )
        feats = build_inference_features(history, horizon=28)
        mlflow_lines = []
        for i, w in series:
            rows = feats.filter((pl.col("item") == i) & (pl.col("warehouse") == w)).to_pandas()
            split = json.loads(rows.to_json(orient="split", date_format="iso", index=False))
            mlflow_lines.append(
                json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"]}})
            )
        mlflow_bodies = work / "mlflow_forecast.jsonl"
        mlflow_bodies.write_text("\n".join(mlflow_lines) + "\n")
        order_bodies = work / "orders.jsonl"
        order_bodies.write_text(
            "\n".join(
                json.dumps({"customer": f"CUST00{1 + k % 4}", "lines": [{"item": f"ITEM00{1 + k % 9}", "quantity": 1 + k % 3}]})
                for k in range(200)
            ) + "\n"
        )  # fmt: skip

        env = os.environ | {
            "STOCKYARD_HOME": str(home),
            "STOCKYARD_PG_DSN": uri,
            "STOCKYARD_MLFLOW_TRACKING_URI": tracking_uri,
            "STOCKYARD_API_RATE_LIMIT_PER_MINUTE": "100000000",
            # mlflow's scoring server execs ``uvicorn`` from PATH.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        ours_port, mlflow_port, cold_port = _free_port(), _free_port(), _free_port()
        ours_log, mlflow_log, cold_log = work / "ours.log", work / "mlflow.log", work / "cold.log"
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("stockyard")), "serve", "--port", str(ours_port), "--log-level", "warning"],
            env=env, stdout=ours_log.open("w"), stderr=subprocess.STDOUT, cwd=work,
        ))  # fmt: skip
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", "models:/demand_forecast@champion",
             "--env-manager", "local", "-p", str(mlflow_port), "-h", "127.0.0.1", "--workers", "1"],
            env=env | {"MLFLOW_TRACKING_URI": tracking_uri}, stdout=mlflow_log.open("w"), stderr=subprocess.STDOUT, cwd=work,
        ))  # fmt: skip
        # The same app with the answer cache off: every request runs the pyfunc on its 28 feature rows.
        cold_app = (
            "import uvicorn; from serving.main import create_app; "
            f"uvicorn.run(create_app(forecast_cache_size=0), host='127.0.0.1', port={cold_port}, "
            "log_level='warning', access_log=False)"
        )
        procs.append(subprocess.Popen([sys.executable, "-c", cold_app], env=env, stdout=cold_log.open("w"),
                                      stderr=subprocess.STDOUT, cwd=work))  # fmt: skip
        ours, theirs = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{mlflow_port}"
        cold = f"http://127.0.0.1:{cold_port}"
        _wait(f"{ours}/healthz", procs[0], ours_log)
        _wait(f"{theirs}/ping", procs[1], mlflow_log)
        _wait(f"{cold}/healthz", procs[2], cold_log)
        setup_s = time.perf_counter() - t_setup

        import httpx

        auth = f"Bearer {key}"
        # Correctness first: same model, same inputs -> same numbers.
        first_ours = httpx.post(f"{ours}/v1/forecast", content=ours_bodies.read_text().splitlines()[0],
                                headers={"authorization": auth, "content-type": "application/json"}, timeout=30)  # fmt: skip
        first_theirs = httpx.post(f"{theirs}/invocations", content=mlflow_lines[0],
                                  headers={"content-type": "application/json"}, timeout=30)  # fmt: skip
        first_ours.raise_for_status()
        first_theirs.raise_for_status()
        ours_p50 = [p["p50"] for p in first_ours.json()["forecast"]]
        theirs_p50 = [r["p50"] for r in first_theirs.json()["predictions"]]
        max_diff = max(abs(a - b) for a, b in zip(ours_p50, theirs_p50, strict=True))

        # Warm-up (fills our per-series feature cache, as a long-running server would have it).
        _wrk(ours, "/v1/forecast", ours_bodies, auth, 2, 4, work)
        _wrk(theirs, "/invocations", mlflow_bodies, None, 2, 4, work)
        _wrk(cold, "/v1/forecast", ours_bodies, auth, 2, 4, work)

        closed = {
            "ours /v1/forecast": _wrk(
                ours, "/v1/forecast", ours_bodies, auth, args.seconds, args.concurrency, work
            ),
            "ours /v1/forecast, answer cache off": _wrk(
                cold, "/v1/forecast", ours_bodies, auth, args.seconds, args.concurrency, work
            ),
            "mlflow /invocations": _wrk(
                theirs, "/invocations", mlflow_bodies, None, args.seconds, args.concurrency, work
            ),
            "ours /v1/orders": _wrk(
                ours, "/v1/orders", order_bodies, auth, args.seconds, args.concurrency, work
            ),
        }
        paced = {
            name: _open_loop(url, path, bodies, key_auth, args.rate, args.seconds, args.grace)
            for name, url, path, bodies, key_auth in (
                ("ours /v1/forecast", ours, "/v1/forecast", ours_bodies, auth),
                ("ours /v1/forecast, answer cache off", cold, "/v1/forecast", ours_bodies, auth),
                ("mlflow /invocations", theirs, "/invocations", mlflow_bodies, None),
                ("ours /v1/orders", ours, "/v1/orders", order_bodies, auth),
            )
        }
        loadavg_end = os.getloadavg()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        stop_postgres(settings)
        shutil.rmtree(work, ignore_errors=True)

    ratio = closed["ours /v1/forecast"]["rps"] / closed["mlflow /invocations"]["rps"]
    cold_ratio = closed["ours /v1/forecast, answer cache off"]["rps"] / closed["mlflow /invocations"]["rps"]
    lines = [
        "# Serving benchmark: Stockyard API vs `mlflow models serve`",
        "",
        f"Generated by `.venv/bin/python benchmarks/serving.py --seconds {args.seconds} --concurrency {args.concurrency} "
        f"--rate {args.rate:g} --grace {args.grace:g} --wait-quiet {args.wait_quiet:g}` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Machine",
        f"- {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['ram_gb']} GB RAM, shared with other engineers",
        f"- {quiet_note}",
        f"- load average at start {tuple(round(x, 2) for x in machine['loadavg_at_start'])}, at end "
        f"{tuple(round(x, 2) for x in loadavg_end)}",
        f"- Python {machine['python']}, "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f", {machine['wrk']}",
        "",
        "## Inputs",
        f"- demand history: {len(series)} series ({args.items} items x {args.warehouses} warehouses), 420 days; "
        f"LightGBM quantile model (150 rounds x 3 quantiles), registry version {version} = `champion`",
        "- forecast requests cycle over every series, horizon 28; mlflow gets the same 28 feature rows per series "
        "(`dataframe_split`), ours gets `{item, warehouse, horizon}` and builds them (cached per series)",
        "- orders: one-line orders over 9 items x 4 customers, allocated in PostgreSQL (embedded, same machine)",
        "- every server: one uvicorn worker (ours twice: answer cache on, as deployed, and off); load generator in a separate process on the same cores; "
        f"set-up (PostgreSQL, training, registry) took {setup_s:.0f} s",
        f"- same model, same inputs: max |P50 ours - P50 mlflow| over 28 days of the first series = {max_diff:.2e}",
        "",
        f"## Throughput, closed loop (wrk, {args.concurrency} connections, {args.seconds} s)",
        "| endpoint | req/s | p50 ms | p99 ms | non-2xx | socket errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in closed.items():
        lines.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {r['non2xx']} | {r['errors']} |"
        )
    lines += [
        "",
        f"Forecast throughput ratio ours / mlflow: **{ratio:.1f}x** with the answer cache (served answers are cached "
        f"per model version and feature rows), **{cold_ratio:.1f}x** with it off (target >= 5x).",
        "",
        f"## Latency at a fixed {args.rate:g} req/s, open loop ({args.seconds} s, {_OPEN_LOOP_CONNECTIONS} keep-alive "
        "connections, generator in a second process)",
        "Request k is sent at t0 + k/rate whatever the server does; latency is measured from that scheduled time, so "
        "queueing behind a slow server counts (no coordinated omission). Achieved rate = answers / (last answer - t0); "
        f"requests unanswered {args.grace:g} s after the last scheduled one count as infinitely slow (inf). "
        "Generator lag = how late the generator itself sent (p99): if it is large, the generator, not the server, "
        "was behind.",
        "",
        "| endpoint | scheduled | achieved req/s | p50 ms | p99 ms | max ms | unanswered | non-2xx | errors | generator lag p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in paced.items():
        lines.append(
            f"| {name} | {r['scheduled']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} "
            f"| {r['unanswered']} | {r['non2xx']} | {r['errors']} | {r['lag_p99_ms']:.1f} |"
        )
    verdicts = []
    for name in ("ours /v1/forecast", "ours /v1/forecast, answer cache off"):
        r = paced[name]
        met = r["p99_ms"] < 20 and r["rps"] >= 0.95 * args.rate and r["unanswered"] == 0 and r["errors"] == 0
        verdicts.append(
            f"{name}: **{'met' if met else 'not met'}** (p99 {r['p99_ms']:.1f} ms at {r['rps']:.0f} req/s achieved)"
        )
    lines += ["", f"Target p99 < 20 ms at {args.rate:g} req/s: " + "; ".join(verdicts) + ".", ""]
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--open-loop-worker":
        _open_loop_worker(sys.argv[2])
    else:
        main()
