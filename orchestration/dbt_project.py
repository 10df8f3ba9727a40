"""The one dbt project of Stockyard, as Dagster sees it.

``DbtProject`` locates ``dbt_project/`` and its manifest (``dbt_project/target/manifest.json``). Loading the
definitions never parses the project: ``dagster dev`` re-parses through ``prepare_if_dev()``, and everything else
(``stockyard run``, ``stockyard ui``, the tests, ``make dbt-manifest``) calls :func:`prepare_manifest` first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject

from stockyard.settings import Settings, get_settings

__all__ = ["DBT_PROJECT_DIR", "dbt_environment", "dbt_project", "prepare_manifest"]

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target=get_settings().dbt_target)
dbt_project.prepare_if_dev()


@contextmanager
def dbt_environment(settings: Settings | None = None) -> Iterator[dict[str, str]]:
    """Expose the dbt profile's environment variables (derived from the settings) to dbt subprocesses.

    ``DbtCliResource`` hands ``os.environ`` to dbt, and ``profiles.yml`` reads only ``env_var()``; the variables
    are restored on exit so one run's home never leaks into the next.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Yields:
        The variables set.
    """
    from stockyard.dbt import dbt_env

    env = dict(dbt_env(settings or get_settings()))
    # dagster-dbt fetches row counts through a dbt adapter in this process; with the profile's keep_open it would
    # hold the DuckDB file open after the step, and the asset checks' read-only readers could not open it.
    env["DBT_SY_DUCKDB_KEEP_OPEN"] = "False"  # dbt's as_bool reads Python literals
    # dagster-dbt runs the ``dbt`` executable: find the one installed beside this interpreter even when the venv
    # is not activated (``.venv/bin/stockyard run``).
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prepare_manifest(settings: Settings | None = None) -> Path:
    """Parse the dbt project into ``manifest.json`` (what loading the definitions needs).

    Skipped when the manifest is newer than every project file and was parsed for the same target.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        The manifest path.
    """
    settings = settings or get_settings()
    stamp = dbt_project.manifest_path.parent / ".stockyard_target"
    if _manifest_is_current(stamp, settings.dbt_target):
        return dbt_project.manifest_path
    with dbt_environment(settings):
        dbt_project.preparer.prepare(dbt_project)
    stamp.write_text(settings.dbt_target)
    return dbt_project.manifest_path


def _manifest_is_current(stamp: Path, target: str) -> bool:
    """True when the manifest was parsed for ``target`` after the last change to any project file.

    Parsing costs tens of seconds; ``stockyard run`` and every test would pay it for nothing (like ``make``).
    """
    manifest = dbt_project.manifest_path
    if not manifest.exists() or not stamp.exists() or stamp.read_text().strip() != target:
        return False
    built = min(manifest.stat().st_mtime, stamp.stat().st_mtime)
    skip = {
        dbt_project.project_dir / "target",
        dbt_project.project_dir / "logs",
        dbt_project.project_dir / "dbt_packages",
    }
    for path in dbt_project.project_dir.rglob("*"):
        if any(parent in skip for parent in path.parents) or not path.is_file():
            continue
        if path.stat().st_mtime > built:
            return False
    return True
