"""The ``stockyard`` command line.

The ``stockyard`` package imports nothing of the other packages at module level (see ARCHITECTURE.md): each
command imports the package that does its work when it runs, which also keeps ``stockyard --help`` fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from stockyard.errors import StockyardError
from stockyard.settings import Settings, get_settings

app = typer.Typer(help="Stockyard: a supply-chain data platform.", no_args_is_help=True, add_completion=False)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
plan_app = typer.Typer(help="Act on the published plans.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")

console = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn user mistakes into one clear line and a non-zero exit (bugs keep their traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StockyardError as exc:
            console.print(f"[bold red]error:[/] {exc.message}")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug output.")] = False) -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
@user_errors
def init() -> None:
    """Create the home, start PostgreSQL if embedded, apply migrations, load reference data."""
    from oltp.bootstrap import initialise

    settings = get_settings()
    with console.status("initialising Stockyard..."):
        summary = initialise(settings)
    out.print(f"[green]Stockyard ready[/] home={settings.home}")
    for key, value in summary.items():
        out.print(f"  {key}: {value}")


@app.command()
@user_errors
def stop() -> None:
    """Stop the embedded PostgreSQL server (no-op with an external STOCKYARD_PG_DSN)."""
    from stockyard.pg import stop_postgres

    out.print("stopped embedded PostgreSQL" if stop_postgres() else "no embedded PostgreSQL was running")


@app.command()
@user_errors
def status() -> None:
    """Show where Stockyard keeps its data and whether PostgreSQL is up."""
    from stockyard.pg import embedded_status

    settings = get_settings()
    out.print(f"home: {settings.home}")
    if settings.embedded_pg:
        port = embedded_status(settings)
        state = f"running on 127.0.0.1:{port}" if port else "stopped"
        out.print(f"postgres: embedded ({settings.pg_dir}), {state}")
    else:
        out.print("postgres: external (STOCKYARD_PG_DSN)")
    out.print(f"lake: {settings.lake_root}")
    out.print(f"duckdb: {settings.duckdb_path}")
    out.print(f"mlflow: {settings.mlflow_tracking_uri}")


@app.command()
@user_errors
def simulate(
    days: Annotated[int, typer.Option(min=1, help="Days of history.")] = 730,
    skus: Annotated[int, typer.Option(min=1, help="Number of items.")] = 300,
    warehouses: Annotated[int, typer.Option(min=1, help="Number of warehouses.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same history.")] = 42,
    mode: Annotated[
        str, typer.Option(help="'auto', 'services' (day by day through the domain services) or 'bulk'.")
    ] = "auto",
) -> None:
    """Write an operations history through the OLTP."""
    from oltp.simulator import SimulationConfig
    from oltp.simulator import simulate as run_simulation

    config = SimulationConfig(days=days, skus=skus, warehouses=warehouses, seed=seed, mode=mode)
    summary = run_simulation(config, settings=get_settings())
    for key, value in summary.items():
        out.print(f"  {key}: {value}")


@apikey_app.command("create")
@user_errors
def apikey_create(
    name: Annotated[str, typer.Argument(help="Unique name of the key (who or what uses it).")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="Scope granted (repeat): inference:read, orders:write, orders:read, inventory:read, "
            "shipments:write, plans:read, admin.",
        ),
    ],
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from oltp.db import get_engine, session_scope
    from serving.apikeys import create_api_key

    with session_scope(get_engine()) as session:
        key = create_api_key(session=session, name=name, scopes=scope)
    out.print(key, markup=False, highlight=False, soft_wrap=True)
    console.print("store this key now: it is not stored and cannot be shown again")


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="Log level of the JSON logs.")] = "info",
) -> None:
    """The FastAPI app (OpenAPI at /docs) with uvicorn; logs are JSON lines with request ids."""
    import uvicorn

    from serving.logging import configure_logging

    configure_logging(log_level.upper())
    uvicorn.run(
        "serving.main:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        log_level=log_level,
        access_log=False,
    )


@app.command()
@user_errors
def ingest(
    table: Annotated[
        list[str] | None, typer.Option("--table", "-t", help="Only these tables (bronze or source names).")
    ] = None,
    feeds: Annotated[bool, typer.Option(help="Also ingest the landing feeds.")] = True,
    maintain: Annotated[
        bool,
        typer.Option(
            "--maintain",
            help="Afterwards compact, checkpoint and vacuum every bronze table "
            "(files unreferenced for STOCKYARD_DELTA_RETENTION_HOURS are deleted).",
        ),
    ] = False,
) -> None:
    """Incremental OLTP + landing feeds -> bronze Delta, exactly once."""
    from rich.progress import Progress
    from rich.table import Table

    from ingest.run import run_ingest

    settings = get_settings()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting", total=None)
        report = run_ingest(
            settings,
            tables=table or None,
            feeds=feeds,
            on_table=lambda r: progress.update(task, description=f"{r.table}: {r.status}"),
        )
    summary = Table("table", "status", "rows read", "rows written", "quarantined", "watermark", "seconds")
    for r in report.results:
        style = {"failed": "red", "unchanged": "dim"}.get(r.status, "green")
        summary.add_row(
            r.table,
            f"[{style}]{r.status}[/]",
            str(r.rows_read),
            str(r.rows_written),
            str(r.rows_quarantined),
            r.error if r.error else (r.watermark or ""),
            f"{r.duration_s:.2f}",
        )
    out.print(summary)
    if not report.ok:
        console.print(
            f"[bold red]{len(report.failed)} table(s) failed:[/] {', '.join(r.table for r in report.failed)}"
        )
        raise typer.Exit(1)
    if maintain:
        _maintain_bronze(settings)


def _maintain_bronze(settings: Settings) -> None:
    """Compact, checkpoint and vacuum the bronze tables, with a spinner and a summary table."""
    from rich.table import Column, Table

    from ingest.maintenance import maintain

    with console.status("compacting, checkpointing and vacuuming bronze"):
        results = maintain(settings)
    summary = Table(
        Column("table", no_wrap=True),
        "compacted",
        "written",
        "vacuumed",
        "version",
        title="Delta maintenance (files)",
    )
    for r in results:
        summary.add_row(
            f"{r.layer}/{r.table}",
            str(r.files_removed),
            str(r.files_added),
            str(r.vacuumed_files),
            str(r.version),
        )
    out.print(summary)


@app.command(name="import")
@user_errors
def import_(
    kind: Annotated[
        str,
        typer.Argument(
            help="items, warehouses, locations, customers, carriers, suppliers, inventory, orders or shipments."
        ),
    ],
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    rejects: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (default: beside PATH).")
    ] = None,
) -> None:
    """Bulk-load your own history (CSV/Parquet) with validation and a rejects file."""
    from oltp.importer import import_file

    result = import_file(kind, path, rejects_path=rejects, settings=get_settings())
    out.print(f"loaded {result.loaded} {kind} row(s) from {path}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if result.rejected:
        console.print(f"[bold red]rejected {result.rejected} row(s)[/]; details in {result.rejects_path}")
        raise typer.Exit(2)


@app.command()
@user_errors
def run(
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            "-s",
            help="Dagster asset selection, e.g. 'key:bronze/oltp__orders+' or 'group:inventory' (default: all).",
        ),
    ] = None,
) -> None:
    """Materialise the asset graph in-process (ingest, dbt, checks, features, models, plans) with progress."""
    from orchestration.progress import RunProgress
    from orchestration.runner import prepare, resolve_selection, run_graph

    settings = get_settings()
    with console.status("preparing the dbt manifest and Dagster storage..."):
        prepare(settings)
        from orchestration.definitions import defs
    total = len(resolve_selection(defs, select))
    with RunProgress(console, total) as progress:
        report = run_graph(select, settings=settings, on_event=progress, defs=defs)
    for check in report.failed_checks:
        if not check.blocking:
            console.print(
                f"[yellow]warning:[/] check {check.asset}:{check.check} failed: {check.description}"
            )
    if not report.success:
        console.print(f"[bold red]error:[/] {report.summary()}")
        raise typer.Exit(1)
    out.print(f"[green]{report.summary()}[/]  (stockyard ui shows run {report.run_id[:8]})")


@plan_app.command("approve")
@user_errors
def plan_approve(
    item: Annotated[str | None, typer.Option(help="Item code of the suggestion to approve.")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse code of the suggestion.")] = None,
    all_urgent: Annotated[
        bool,
        typer.Option(
            "--all-urgent", help="Approve every urgent suggestion (below safety stock or cover < lead time)."
        ),
    ] = False,
) -> None:
    """Turn approved replenishment suggestions into purchase orders (never done automatically)."""
    from orchestration.defs.planning.approval import approve_suggestions

    approvals = approve_suggestions(get_settings(), item=item, warehouse=warehouse, all_urgent=all_urgent)
    if not approvals:
        out.print("nothing to approve")
    for a in approvals:
        verb = "created" if a.created else "already approved"
        out.print(f"{a.po_number}: {a.quantity} x {a.item} into {a.warehouse} ({verb})")


@app.command()
@user_errors
def ui(
    port: Annotated[int, typer.Option(help="Port of the Dagster webserver.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """The Dagster UI for this project (dagster dev on this home's storage); Ctrl-C stops it."""
    from orchestration.ui import start_ui, stop_ui

    process = start_ui(port=port, host=host, settings=get_settings())
    out.print(f"Dagster UI on http://{host}:{port}  (Ctrl-C to stop)")
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = stop_ui(process)
    if code not in (0, -2, 130):
        raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
