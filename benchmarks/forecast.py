"""Demand-forecast benchmark: our global LightGBM model against baselines and Nixtla peers.

Same data, same horizon, same rolling-origin folds, one run, for:

* ``lightgbm`` — ours (:mod:`ml.forecasting`), direct multi-horizon quantile LightGBM;
* ``seasonal_naive`` (weekly) and ``moving_average`` (28 d) — our baselines;
* ``statsforecast`` ``AutoETS(season_length=7)`` (P10/P90 from its 80 % interval) and
  ``CrostonOptimized()`` (point forecast only);
* ``mlforecast`` with LightGBM as in the mlforecast 1.1.0 README "Quick start":
  ``MLForecast(models=[lgb.LGBMRegressor(random_state=0, verbosity=-1)], freq="D",
  lags=[7, 14], lag_transforms={1: [ExpandingMean()], 7: [RollingMean(window_size=28)]},
  date_features=["dayofweek"], target_transforms=[Differences([1])])`` (point forecast only).

Peers get the observed quantity as ``y`` (they have no notion of censoring); every model is
scored on the same non-stockout days. Writes a Markdown report and a PNG.

Usage::

    .venv/bin/python benchmarks/forecast.py                # synthetic, 300 series x 2 years -> results/forecast.md
    .venv/bin/python benchmarks/forecast.py --simulate --wait-quiet 600   # -> results/forecast_simulator.md
    .venv/bin/python benchmarks/forecast.py --from-lake fct_demand_daily.parquet --truth truth.parquet --out r.md

``--simulate`` builds the simulator's history end to end in a temporary home (embedded PostgreSQL, removed
afterwards): ``oltp.simulator.simulate(SimulationConfig(days=730, skus=300, warehouses=3, seed=42, mode="bulk"))``
(the bulk path of ``stockyard simulate``), ingest, ``dbt seed`` + ``dbt run --select +fct_demand_daily
+stg_sim__expected_demand`` (DuckDB), ``export_gold``; the model reads the exported ``fct_demand_daily`` (what the
training pipeline reads) and the truth is the simulator's expected demand (``stg_sim__expected_demand``).

Target-date covariates: the synthetic generator plans promotions and prices ahead, so there the model takes price,
promotion and holiday as known in advance; on the simulator's ``fct_demand_daily`` promotion and price come from
the day's order lines (set only when something sold), so the model uses the default
``ForecastConfig.known_covariates`` (the holiday calendar only). Every run first waits (up to ``--wait-quiet`` s)
for a 1-minute load average below 3, and records the load it started with.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ml.forecasting.backtest import BASELINES, backtest, lightgbm_forecaster  # noqa: E402
from ml.forecasting.config import FUTURE_COVARIATES, ForecastConfig  # noqa: E402
from ml.forecasting.features import prepare_history  # noqa: E402
from ml.forecasting.synthetic import generate_demand  # noqa: E402

NO_INTERVALS = {"croston_optimized", "mlforecast_lgbm"}


def _nixtla_frame(history: pl.DataFrame):
    """Long pandas frame (unique_id, ds, y), as in the Nixtla docs."""
    dense = prepare_history(history)
    return dense.select(
        pl.concat_str([pl.col("item"), pl.lit("|"), pl.col("warehouse")]).alias("unique_id"),
        pl.col("date").cast(pl.Datetime("ns")).alias("ds"),
        pl.col("quantity").alias("y"),
    ).to_pandas()


def _from_nixtla(fc, origin: dt.date, point: str, lo: str | None, hi: str | None) -> pl.DataFrame:
    fc = pl.from_pandas(fc.reset_index() if "unique_id" not in fc.columns else fc)
    ids = pl.col("unique_id").str.split_exact("|", 1)
    p50 = pl.col(point).clip(lower_bound=0.0)
    return fc.select(
        ids.struct.field("field_0").alias("item"),
        ids.struct.field("field_1").alias("warehouse"),
        pl.col("ds").cast(pl.Date).alias("date"),
        ((pl.col("ds").cast(pl.Date) - pl.lit(origin)).dt.total_days()).cast(pl.Int32).alias("horizon"),
        (pl.col(lo).clip(lower_bound=0.0) if lo else p50).alias("p10"),
        p50.alias("p50"),
        (pl.col(hi).clip(lower_bound=0.0) if hi else p50).alias("p90"),
    )


def statsforecast_forecasters(n_jobs: int) -> dict:
    """AutoETS and CrostonOptimized, each fitted once per fold."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, CrostonOptimized

    def ets(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:  # noqa: ARG001
        sf = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=n_jobs)
        fc = sf.forecast(h=horizon, df=_nixtla_frame(history), level=[80])
        return _from_nixtla(fc, history["date"].max(), "AutoETS", "AutoETS-lo-80", "AutoETS-hi-80")

    def croston(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:  # noqa: ARG001
        sf = StatsForecast(models=[CrostonOptimized()], freq="D", n_jobs=n_jobs)
        fc = sf.forecast(h=horizon, df=_nixtla_frame(history))
        return _from_nixtla(fc, history["date"].max(), "CrostonOptimized", None, None)

    return {"autoets": ets, "croston_optimized": croston}


def mlforecast_forecaster(num_threads: int):
    """mlforecast with the README quick-start LightGBM set-up."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import ExpandingMean, RollingMean
    from mlforecast.target_transforms import Differences

    def forecast(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:  # noqa: ARG001
        mlf = MLForecast(
            models=[lgb.LGBMRegressor(random_state=0, verbosity=-1, n_jobs=num_threads)],
            freq="D",
            lags=[7, 14],
            lag_transforms={1: [ExpandingMean()], 7: [RollingMean(window_size=28)]},
            date_features=["dayofweek"],
            target_transforms=[Differences([1])],
        )
        mlf.fit(_nixtla_frame(history))
        fc = mlf.predict(horizon)
        return _from_nixtla(fc, history["date"].max(), "LGBMRegressor", None, None)

    return forecast


def machine() -> dict[str, str]:
    """CPU, RAM and versions of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{mem_kb / 1024**2:.1f} GiB"
    except OSError:
        ram = "unknown"
    pkgs = ["lightgbm", "polars", "numpy", "statsforecast", "mlforecast", "scikit-learn"]
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": cpu,
        "RAM": ram,
        "OS": platform.platform(),
        "load average at report time (1/5/15 min; the machine is shared)": " / ".join(
            f"{v:.1f}" for v in os.getloadavg()
        ),
        "python": sys.version.split()[0],
        **{p: version(p) for p in pkgs},
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def report_header(
    total_s: float,
    load_at_start: tuple[float, float, float],
    notes: list[str],
    title: str = "Demand forecast benchmark",
) -> list[str]:
    """Title, command, machine and the load average the run started with."""
    return [
        f"# {title}",
        "",
        f"Generated by `{' '.join(['.venv/bin/python', 'benchmarks/forecast.py', *sys.argv[1:]])}` on "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; whole run {total_s:.0f} s.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in machine().items()],
        f"- load average at start (1/5/15 min): {' / '.join(f'{v:.1f}' for v in load_at_start)}",
        *[f"- {n}" for n in notes],
        "",
    ]


def report_section(
    result, config: ForecastConfig, data_desc: str, png: Path, has_truth: bool, title: str
) -> list[str]:
    """Markdown lines of one data set's results plus a PNG of WAPE by horizon and overall."""
    overall = result.metrics.filter(pl.col("segment") == "overall").sort("wape")
    h = "##" if not title else "###"
    lines = [
        *([f"## {title}", ""] if title else []),
        f"{h} Inputs",
        "",
        f"- data: {data_desc}",
        f"- horizon {result.horizon} days; {len(result.cutoffs)} rolling-origin folds, cut-offs "
        f"{', '.join(str(c) for c in result.cutoffs)} (non-overlapping test windows); backtest id `{result.backtest_id}`",
        "- scored on non-stockout days only (stockout sales are censored); every model retrained at every cut-off",
        "- ours: `ForecastConfig` defaults but threads (direct multi-horizon, 3 quantile LightGBM models, "
        f"{config.num_boost_round} rounds, ≤{config.max_train_rows:,} sampled rows, {config.num_threads} thread(s)); "
        f"target-date covariates taken as known in advance: {', '.join(config.known_covariates)} (the others only "
        f"as history; see `ForecastConfig.known_covariates`); peers also get {config.num_threads} thread(s)/job(s)",
        "- statsforecast `AutoETS(season_length=7)` (P10/P90 = its 80 % interval), `CrostonOptimized()`; "
        "mlforecast README quick-start set-up (see the script docstring); peers see the raw observed quantity",
        "- MASE is scaled by each series' in-sample weekly seasonal-naive MAE; truth ratio = WAPE(model) / "
        "WAPE(simulator expected demand as the forecast)",
        "",
        f"{h} Results (all folds)",
        "",
        "Times are summed over the folds. Wall time depends on what else runs on the shared machine (see the "
        "load average); process CPU time does not (child processes, if any, are not counted).",
        "",
        "| model | WAPE | MASE | bias | P10–P90 coverage | mean pinball | truth ratio | train+predict wall s | CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in overall.iter_rows(named=True):
        no_int = row["model"] in NO_INTERVALS
        lines.append(
            f"| {row['model']} | {_fmt(row['wape'])} | {_fmt(row['mase'])} | {_fmt(row['bias'])} | "
            f"{'n/a (point only)' if no_int else _fmt(row['coverage'])} | "
            f"{'n/a' if no_int else _fmt(row['pinball'])} | {_fmt(row.get('truth_ratio'))} | "
            f"{result.fit_seconds[row['model']]:.1f} | {CPU_SECONDS.get(row['model'], float('nan')):.1f} |"
        )
    if has_truth:
        lines += ["", f"Truth (expected demand as forecast) WAPE: {_fmt(overall['truth_wape'][0])}."]
    by_abc = result.metrics.filter(pl.col("segment") == "abc_class").pivot(
        on="key", index="model", values="wape"
    )
    lines += ["", f"{h} WAPE by ABC class", "", "| model | " + " | ".join(by_abc.columns[1:]) + " |"]
    lines.append("| --- |" + " ---: |" * (len(by_abc.columns) - 1))
    for row in by_abc.sort(by_abc.columns[1]).iter_rows():
        lines.append(f"| {row[0]} | " + " | ".join(_fmt(v) for v in row[1:]) + " |")

    ours = result.overall("lightgbm")
    checks = []
    if "mlforecast_lgbm" in result.fit_seconds:
        peer = result.overall("mlforecast_lgbm")["wape"]
        checks.append(
            f"- better WAPE than mlforecast default: **{'yes' if ours['wape'] < peer else 'no'}** "
            f"({ours['wape']:.3f} vs {peer:.3f})"
        )
    if has_truth:
        ratio = ours["truth_ratio"]
        checks.append(
            f"- WAPE within 1.10× of the truth's: **{'yes' if ratio <= 1.10 else 'no'}** (ratio {ratio:.3f})"
        )
    lines += ["", f"{h} Targets", "", *checks, "", f"![WAPE by horizon]({png.name})", ""]

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    by_h = result.metrics.filter(pl.col("segment") == "horizon").with_columns(pl.col("key").cast(pl.Int32))
    for (name,), part in sorted(by_h.partition_by("model", as_dict=True).items()):
        part = part.sort("key")
        ax1.plot(part["key"], part["wape"], marker=".", lw=2 if name == "lightgbm" else 1, label=name)
    ax1.set_xlabel("horizon (days)")
    ax1.set_ylabel("WAPE")
    ax1.set_title("WAPE by horizon (all folds)")
    ax1.legend(fontsize=8)
    ax2.barh(overall["model"].to_list()[::-1], overall["wape"].to_list()[::-1], color="tab:blue")
    if has_truth:
        ax2.axvline(overall["truth_wape"][0], color="black", ls="--", label="truth WAPE")
        ax2.legend(fontsize=8)
    ax2.set_xlabel("WAPE")
    ax2.set_title("Overall WAPE")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return lines


CPU_SECONDS: dict[str, float] = {}


def _with_progress(name: str, fn):
    """Wrap a forecaster to log progress and add up its process CPU time (load-independent)."""

    def run(history: pl.DataFrame, future: pl.DataFrame, horizon: int) -> pl.DataFrame:
        started, cpu = time.perf_counter(), time.process_time()
        out = fn(history, future, horizon)
        CPU_SECONDS[name] = CPU_SECONDS.get(name, 0.0) + time.process_time() - cpu
        print(
            f"{name}: cut-off {history['date'].max()} in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        return out

    return run


def wait_for_quiet(max_wait_s: float, threshold: float = 3.0) -> str:
    """Poll the 1-minute load average until it is below ``threshold`` or ``max_wait_s`` passes."""
    started, first = time.monotonic(), os.getloadavg()[0]
    while os.getloadavg()[0] >= threshold and time.monotonic() - started < max_wait_s:
        time.sleep(15)
    load = os.getloadavg()[0]
    waited = time.monotonic() - started
    if load < threshold:
        return f"waited {waited:.0f} s for a 1-min load below {threshold:g} (was {first:.1f}, now {load:.1f})"
    return f"machine not quiet: 1-min load still {load:.1f} after waiting {waited:.0f} s; ran anyway"


def simulated_history(
    home: Path, *, days: int, skus: int, warehouses: int, seed: int = 42
) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Simulate (bulk path), ingest, dbt and export in ``home``; return (fct_demand_daily, truth, description)."""
    # Run as a script, this folder is first on sys.path and its ingest.py (the ingest benchmark) would shadow the
    # ingest package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("ingest", None)
    from ingest.run import run_ingest
    from oltp.simulator import SimulationConfig, simulate
    from stockyard.dbt import export_gold, run_dbt
    from stockyard.pg import ensure_postgres, stop_postgres
    from stockyard.settings import Settings

    os.environ.pop("STOCKYARD_PG_DSN", None)
    settings = Settings(home=home)
    steps: dict[str, float] = {}
    cfg = SimulationConfig(
        days=days, skus=skus, warehouses=warehouses, seed=seed, mode="bulk", show_progress=False
    )
    try:
        t = time.perf_counter()
        ensure_postgres(settings)
        simulate(cfg, settings=settings)
        steps["simulate"] = time.perf_counter() - t
        t = time.perf_counter()
        run_ingest(settings)
        steps["ingest"] = time.perf_counter() - t
        t = time.perf_counter()
        # dim_date reads the holidays seed: load seeds first, as `stockyard run` does.
        run_dbt(["seed"], settings)
        run_dbt(["run", "--select", "+fct_demand_daily +stg_sim__expected_demand"], settings)
        (gold,) = export_gold(settings, marts=["fct_demand_daily"])
        steps["dbt + export"] = time.perf_counter() - t
    finally:
        stop_postgres(settings)
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        # fetchall drains the result: DuckDB 2 refuses new work on a connection with an unfinished one.
        ((schema,),) = con.execute(
            "select table_schema from information_schema.tables where table_name = 'stg_sim__expected_demand'"
        ).fetchall()
        truth = pl.from_arrow(
            con.sql(
                f'select item, warehouse, demand_date as date, expected_demand from "{schema}".stg_sim__expected_demand'
            ).to_arrow_table()
        )
    observed = pl.read_parquet(gold)
    desc = (
        f"`oltp.simulator.simulate(SimulationConfig(days={days}, skus={skus}, warehouses={warehouses}, seed={seed}, "
        f"mode='bulk'))` (the bulk path of `stockyard simulate`, default order volume of one line per item and day) "
        f"→ ingest → `dbt run` → `{gold.name}`, the frame the training pipeline reads; truth "
        f"`stg_sim__expected_demand`; {describe_demand(observed)}; data preparation "
        + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items())
    )
    return observed, truth, desc


def describe_demand(observed: pl.DataFrame) -> str:
    """Size, censoring, intermittency and how promotions show in a demand frame (one line of text)."""
    means = observed.group_by("item", "warehouse").agg(pl.col("quantity").mean().alias("m"))["m"]
    text = (
        f"{observed.height:,} rows, {means.len()} series, {observed['is_stockout'].mean():.1%} stockout days, "
        f"{(observed['quantity'] == 0).mean():.1%} zero days, median series mean {means.median():.2f} units/day, "
        f"{(means < 1).mean():.0%} of series below 1 unit/day"
    )
    if "is_promo" in observed.columns and observed["is_promo"].any():
        sold = observed.group_by("is_promo").agg((pl.col("quantity") > 0).mean().alias("s"))
        share = dict(zip(sold["is_promo"].to_list(), sold["s"].to_list(), strict=True))
        text += f"; a sale on {share[True]:.1%} of promotion days vs {share.get(False, float('nan')):.1%} of other days"
    return text


def regime_lines(result, observed: pl.DataFrame, truth: pl.DataFrame | None, h: str) -> list[str]:
    """WAPE (and truth ratio) of every model on smooth vs intermittent series (mean demand >= / < 1 unit a day)."""
    means = observed.group_by("item", "warehouse").agg(pl.col("quantity").mean().alias("m"))
    kind = (
        pl.when(pl.col("m") >= 1).then(pl.lit("smooth (≥ 1/day)")).otherwise(pl.lit("intermittent (< 1/day)"))
    )
    scored = (
        result.forecasts.join(
            observed.select("item", "warehouse", "date", "quantity", "is_stockout"),
            on=["item", "warehouse", "date"],
        )
        .filter(~pl.col("is_stockout"))
        .join(means.with_columns(kind.alias("kind")), on=["item", "warehouse"])
    )
    if truth is not None:
        scored = scored.join(
            truth.select("item", "warehouse", "date", "expected_demand"), on=["item", "warehouse", "date"]
        )
    err = (pl.col("quantity") - pl.col("p50")).abs().sum() / pl.col("quantity").sum()
    aggs = [err.alias("wape")]
    if truth is not None:
        aggs.append(
            ((pl.col("quantity") - pl.col("expected_demand")).abs().sum() / pl.col("quantity").sum()).alias(
                "tw"
            )
        )
    table = scored.group_by("model", "kind").agg(*aggs, pl.col("quantity").sum().alias("units"))
    kinds = sorted(table["kind"].unique().to_list(), reverse=True)
    units = {k: table.filter(pl.col("kind") == k)["units"][0] for k in kinds}
    total = sum(units.values())
    lines = [
        "",
        f"{h} WAPE by series type",
        "",
        "Series classed by their mean daily demand over the whole history; share = share of the scored units."
        + (" Truth ratio in brackets." if truth is not None else ""),
        "",
        "| model | " + " | ".join(f"{k}, {units[k] / total:.0%} of units" for k in kinds) + " |",
        "| --- |" + " ---: |" * len(kinds),
    ]
    for model in result.metrics.filter(pl.col("segment") == "overall").sort("wape")["model"]:
        cells = []
        for k in kinds:
            row = table.filter((pl.col("model") == model) & (pl.col("kind") == k)).row(0, named=True)
            cells.append(
                _fmt(row["wape"]) + (f" ({row['wape'] / row['tw']:.3f})" if truth is not None else "")
            )
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if truth is not None:
        tw = [_fmt(table.filter(pl.col("kind") == k)["tw"][0]) for k in kinds]
        lines.append("| *truth (expected demand)* | " + " | ".join(tw) + " |")
    return lines


def _run_section(
    observed, truth, data_desc, args, png: Path, title: str, config: ForecastConfig
) -> list[str]:
    forecasters = {"lightgbm": lightgbm_forecaster(config), **BASELINES}
    if not args.skip_peers:
        forecasters |= statsforecast_forecasters(n_jobs=args.threads)
        forecasters["mlforecast_lgbm"] = mlforecast_forecaster(args.threads)
    CPU_SECONDS.clear()
    result = backtest(
        observed,
        {name: _with_progress(name, fn) for name, fn in forecasters.items()},
        config=config,
        n_folds=args.folds,
        truth=truth,
    )
    lines = report_section(result, config, data_desc, png, truth is not None, title)
    # The regime table goes before the targets and the plot.
    at = lines.index(f"{'##' if not title else '###'} Targets") - 1
    return [*lines[:at], *regime_lines(result, observed, truth, "##" if not title else "###"), *lines[at:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=300, help="synthetic items (one warehouse each)")
    parser.add_argument("--days", type=int, default=730, help="days of history (synthetic and --simulate)")
    parser.add_argument("--seed", type=int, default=0, help="model and synthetic-data seed")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--from-lake", type=Path, help="fct_demand_daily parquet file or directory")
    parser.add_argument("--truth", type=Path, help="truth parquet (item, warehouse, date, expected_demand)")
    parser.add_argument(
        "--simulate", action="store_true", help="benchmark on the simulator's history (own report file)"
    )
    parser.add_argument("--skus", type=int, default=300, help="--simulate: items")
    parser.add_argument("--warehouses", type=int, default=3, help="--simulate: warehouses")
    parser.add_argument("--sim-seed", type=int, default=42, help="--simulate: simulator seed")
    parser.add_argument(
        "--sim-home", type=Path, help="home for --simulate, kept (default: a temporary directory)"
    )
    parser.add_argument("--wait-quiet", type=float, default=600.0, help="max seconds to wait for load < 3")
    parser.add_argument("--skip-peers", action="store_true", help="only ours and the baselines")
    parser.add_argument(
        "--out", type=Path, help="report path (default results/forecast.md, forecast_simulator.md)"
    )
    args = parser.parse_args()

    results = Path(__file__).parent / "results"
    out = args.out or results / ("forecast_simulator.md" if args.simulate else "forecast.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_suffix(".png")
    notes = [wait_for_quiet(args.wait_quiet)]
    load_at_start = os.getloadavg()
    started = time.perf_counter()
    config = ForecastConfig(horizon=args.horizon, num_threads=args.threads, seed=args.seed)
    if args.simulate:
        import shutil
        import tempfile

        home = args.sim_home or Path(tempfile.mkdtemp(prefix="stockyard_forecast_bench_"))
        try:
            observed, truth, data_desc = simulated_history(
                home, days=args.days, skus=args.skus, warehouses=args.warehouses, seed=args.sim_seed
            )
        finally:
            if args.sim_home is None:
                shutil.rmtree(home, ignore_errors=True)
        title = "Demand forecast benchmark on the simulator's history"
    elif args.from_lake:
        src = args.from_lake / "*.parquet" if args.from_lake.is_dir() else args.from_lake
        observed = pl.read_parquet(src)
        truth = pl.read_parquet(args.truth) if args.truth else None
        data_desc = f"`{args.from_lake}` ({describe_demand(observed)})"
        title = "Demand forecast benchmark"
    else:
        observed, truth = generate_demand(
            n_items=args.series, n_warehouses=1, n_days=args.days, seed=args.seed
        )
        data_desc = (
            f"`ml.forecasting.synthetic.generate_demand(n_items={args.series}, n_warehouses=1, "
            f"n_days={args.days}, seed={args.seed})` — {observed.height:,} rows, "
            f"{observed['is_stockout'].mean():.1%} stockout days, {(observed['quantity'] == 0).mean():.1%} zero days"
        )
        # The generator plans its promotions and prices ahead, so they are known in advance here.
        config = dataclasses.replace(config, known_covariates=FUTURE_COVARIATES)
        title = "Demand forecast benchmark"
    section = _run_section(observed, truth, data_desc, args, png, "", config)
    total = time.perf_counter() - started
    text = "\n".join([*report_header(total, load_at_start, notes, title), *section])
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
