"""Watermarks kept *inside* the Delta log, so they advance atomically with the data they describe.

Each ingest commit carries the table's new watermark in the commit's custom metadata (key
``stockyard.watermark``, a JSON object). On start the watermark is read back from the newest commit that has one.
Maintenance commits (optimize, vacuum) re-stamp the current watermark, so the newest data commit never has to be
found far back in a history that log clean-up may have trimmed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import TableNotFoundError

__all__ = ["WATERMARK_KEY", "Watermark", "commit_properties", "open_table", "read_watermark"]

WATERMARK_KEY = "stockyard.watermark"


@dataclass(frozen=True)
class Watermark:
    """The change position a bronze table has absorbed.

    Attributes:
        xid: Transaction horizon (``pg_snapshot_xmin`` of the last snapshot): every row written by a transaction
            below it is in bronze (append tables; for mutable tables: the ``cdc_deletes`` applied).
        time: ISO timestamp horizon of mutable tables: every committed row version with ``updated_at`` below it is
            in bronze.
        fingerprint: Content fingerprint of full-refresh tables.
        max_id: Largest id taken (``xmin``-tracked tables pick up frozen rows above it).
    """

    xid: int = 0
    time: str | None = None
    fingerprint: str | None = None
    max_id: int = 0

    def to_json(self) -> str:
        """Serialise for the commit metadata."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Watermark:
        """Parse what :meth:`to_json` wrote (unknown keys ignored, for forward compatibility)."""
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def describe(self) -> str:
        """Short human/row form used for ``_watermark`` and reports."""
        parts = [f"xid={self.xid}"]
        if self.time:
            parts.append(f"time={self.time}")
        if self.fingerprint:
            parts.append(f"fp={self.fingerprint}")
        return ";".join(parts)


def open_table(uri: str | Path) -> DeltaTable | None:
    """The Delta table at ``uri``, or None when it does not exist yet.

    Args:
        uri: Table path or URI.

    Returns:
        The table or None.
    """
    if isinstance(uri, Path) or "://" not in str(uri):
        if not (Path(uri) / "_delta_log").is_dir():
            return None
    try:
        return DeltaTable(str(uri))
    except TableNotFoundError:
        return None


def read_watermark(table: DeltaTable | str | Path | None) -> Watermark | None:
    """The watermark of the newest commit that carries one.

    Args:
        table: A Delta table or its location (None or missing → None).

    Returns:
        The watermark, or None when the table does not exist or never recorded one.
    """
    if table is None:
        return None
    dt = table if isinstance(table, DeltaTable) else open_table(table)
    if dt is None:
        return None
    # history() is newest first; a short window normally suffices because every ingest and maintenance commit
    # carries the key, but fall back to the whole (retained) log.
    for limit in (20, None):
        for commit in dt.history(limit):
            value = commit.get(WATERMARK_KEY)
            if value:
                return Watermark.from_json(value)
    return None


def commit_properties(watermark: Watermark | None, **extra: Any) -> CommitProperties:
    """Commit properties recording ``watermark`` (and ``extra`` string metadata) in the Delta commit.

    Args:
        watermark: The table's new watermark (None: record only ``extra``).
        **extra: More metadata (values are JSON-encoded unless strings).

    Returns:
        ``CommitProperties`` for any deltalake write, merge or maintenance call.
    """
    meta: dict[str, str] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}
    if watermark is not None:
        meta[WATERMARK_KEY] = watermark.to_json()
    return CommitProperties(custom_metadata=meta)
