"""Every dbt model, seed and snapshot as an asset, built by one streaming ``dbt build``.

``dbt build`` runs models and their tests in DAG order, so a failing test stops the models downstream of it inside
dbt as well; each test surfaces as an asset check. Row counts are attached to every materialisation.
"""

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
    with dbt_environment(stockyard.settings()):
        yield from dbt.cli(["build"], context=context).stream().fetch_row_counts()
