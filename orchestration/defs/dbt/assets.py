"""Every dbt model, seed and snapshot as an asset, built by one streaming ``dbt build``.

On the ``postgres`` target the bronze Delta tables are first published into PostgreSQL's ``bronze`` schema
(``ingest.publish_pg``); on DuckDB the sources read the Delta tables directly. Keys do not depend on the target.

``dbt build`` runs models and their tests in DAG order, so a failing test stops the models downstream of it inside
dbt as well; each test surfaces as an asset check. Row counts are attached to every materialisation.
"""

import gc
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_environment, dbt_project
from orchestration.defs.dbt.translator import StockyardDbtTranslator
from orchestration.resources import StockyardResource

__all__ = ["dbt_resource", "stockyard_dbt_assets", "translator"]

translator = StockyardDbtTranslator()


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource on this project and the settings' target.

    Returns:
        A ``DbtCliResource``.
    """
    # The executable beside this interpreter: the venv need not be on PATH (``.venv/bin/stockyard``, dagster dev).
    executable = Path(sys.executable).parent / "dbt"
    return DbtCliResource(project_dir=dbt_project, target=dbt_project.target, dbt_executable=str(executable))


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator)
def stockyard_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, stockyard: StockyardResource
) -> Iterator[Any]:
    """dbt build of the selected models (staging, intermediate, marts) with their tests."""
    settings = stockyard.settings()
    if settings.dbt_target == "postgres":
        # On PostgreSQL the sources are the ``bronze`` schema: copy the Delta tables there first (incremental).
        from ingest.publish_pg import publish_bronze
        from stockyard.pg import ensure_postgres

        published = publish_bronze(settings.lake_root, ensure_postgres(settings))
        context.log.info(f"published {len(published)} bronze table(s) to PostgreSQL")
    target_path = _target_path(settings)
    with dbt_environment(settings):
        invocation = dbt.cli(["build"], context=context, target_path=target_path)
        try:
            yield from invocation.stream().fetch_row_counts()
        finally:
            _release_adapter(invocation)


def _target_path(settings: Any) -> Path:
    """One dbt target directory per home and target, seeded with the prepared partial parse.

    dagster-dbt's default is a fresh directory per invocation, which makes dbt re-parse the whole project on every
    run; reusing one keeps ``partial_parse.msgpack``. Runs against one warehouse are serial anyway (DuckDB has a
    single writer).
    """
    path = Path(settings.home) / "dbt" / settings.dbt_target / "dagster"
    path.mkdir(parents=True, exist_ok=True)
    seed = dbt_project.manifest_path.parent / "partial_parse.msgpack"
    if seed.exists() and not (path / "partial_parse.msgpack").exists():
        shutil.copyfile(seed, path / "partial_parse.msgpack")
    return path


def _release_adapter(invocation: Any) -> None:
    """Close the in-process adapter connection row counts opened (DuckDB allows one configuration per file)."""
    adapter = getattr(invocation, "adapter", None)
    if adapter is None:
        return
    adapter.cleanup_connections()
    close_all = getattr(type(adapter.connections), "close_all_connections", None)
    if close_all is not None:
        close_all()
    gc.collect()
