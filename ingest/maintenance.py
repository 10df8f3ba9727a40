"""Bronze table maintenance: compaction, checkpoints and vacuum with ``settings.delta_retention_hours``.

Compaction and vacuum commits re-stamp the table's current watermark (see :mod:`ingest.state`), so the newest
commit always carries it even after log clean-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.state import commit_properties, open_table, read_watermark
from stockyard.settings import Settings, get_settings

__all__ = ["MaintenanceResult", "maintain", "maintain_table"]


@dataclass(frozen=True)
class MaintenanceResult:
    """What maintenance did to one table."""

    table: str
    files_removed: int
    files_added: int
    vacuumed_files: int
    version: int
    #: Folder of the lake the table lives in: ``bronze`` or ``quarantine`` (a feed's rejected rows).
    layer: str


def maintain_table(uri: str, *, retention_hours: int, vacuum: bool = True) -> MaintenanceResult | None:
    """Compact small files, write a checkpoint and vacuum files older than the retention.

    Args:
        uri: Delta table location.
        retention_hours: Files no longer referenced for this long are deleted.
        vacuum: Also vacuum (off: compact + checkpoint only).

    Returns:
        The result, or None when the table does not exist.
    """
    dt_ = open_table(uri)
    if dt_ is None:
        return None
    props = commit_properties(read_watermark(dt_))
    metrics = dt_.optimize.compact(commit_properties=props)
    dt_.create_checkpoint()
    dt_.cleanup_metadata()
    removed = []
    if vacuum:
        removed = dt_.vacuum(
            retention_hours=retention_hours,
            dry_run=False,
            enforce_retention_duration=False,
            commit_properties=commit_properties(read_watermark(dt_)),
        )
    return MaintenanceResult(
        table=Path(uri).name,
        layer=Path(uri).parent.name,
        files_removed=int(metrics.get("numFilesRemoved", 0)),
        files_added=int(metrics.get("numFilesAdded", 0)),
        vacuumed_files=len(removed),
        version=dt_.version(),
    )


def maintain(settings: Settings | None = None, *, vacuum: bool = True) -> list[MaintenanceResult]:
    """Maintain every bronze table (and the quarantine tables) under the lake root.

    Args:
        settings: Settings (lake root, ``delta_retention_hours``).
        vacuum: Also vacuum.

    Returns:
        One result per table.
    """
    settings = settings or get_settings()
    assert settings.lake_root is not None
    results = []
    for parent in (settings.bronze_dir, settings.quarantine_dir):
        if not parent.is_dir():
            continue
        for path in sorted(p for p in parent.iterdir() if (p / "_delta_log").is_dir()):
            res = maintain_table(str(path), retention_hours=settings.delta_retention_hours, vacuum=vacuum)
            if res is not None:
                results.append(res)
    return results
