"""Operational alerts (failed runs, blocked checks) as JSON lines under ``<home>/alerts/alerts.jsonl``.

A file rather than a table: alerts must be recordable when PostgreSQL or the lake is what failed. One JSON object
per line, appended with a single ``write`` so concurrent writers do not interleave.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from stockyard.settings import Settings, get_settings

__all__ = ["alerts_path", "read_alerts", "record_alert"]


def alerts_path(settings: Settings | None = None) -> Path:
    """Where alerts are written.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        ``<home>/alerts/alerts.jsonl``.
    """
    return (settings or get_settings()).home / "alerts" / "alerts.jsonl"


def record_alert(
    kind: str, message: str, *, settings: Settings | None = None, **details: Any
) -> dict[str, Any]:
    """Append one alert.

    Args:
        kind: Alert kind, e.g. ``run_failure``.
        message: One human line.
        settings: Stockyard settings; defaults to :func:`get_settings`.
        **details: JSON-serialisable context (run id, job, failed steps...).

    Returns:
        The record written.
    """
    record = {"at": dt.datetime.now(dt.UTC).isoformat(), "kind": kind, "message": message, **details}
    path = alerts_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=str) + "\n")
    return record


def read_alerts(settings: Settings | None = None) -> list[dict[str, Any]]:
    """All alerts recorded so far, oldest first.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        The decoded records (empty when none).
    """
    path = alerts_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
