"""Transactional outbox: every domain change writes one ``events`` row in the same transaction.

Change capture (``ingest``) reads the outbox by ``id``/``txid`` watermark, so an event exists exactly when the
change it describes was committed: a rolled-back service leaves neither the change nor the event behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from oltp.models import Event

__all__ = ["emit", "encode_payload", "utcnow"]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC); the default ``occurred_at`` of every service."""
    return dt.datetime.now(dt.UTC)


def _jsonable(value: Any) -> Any:
    # JSONB only takes JSON types: dates/timestamps become ISO strings, decimals exact strings-free numbers.
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def encode_payload(payload: Mapping[str, Any]) -> str:
    """The JSON text of an event payload, for services that write the outbox row inside a batched statement.

    Args:
        payload: JSON-serialisable details (dates and decimals are converted as in :func:`emit`).

    Returns:
        JSON text to bind as ``cast(:payload as jsonb)``.
    """
    return json.dumps(_jsonable(payload), separators=(",", ":"))


def emit(
    session: Session,
    aggregate_type: str,
    aggregate_id: object,
    event_type: str,
    payload: Mapping[str, Any],
    occurred_at: dt.datetime | None = None,
) -> None:
    """Append one event to the outbox in the caller's transaction.

    Args:
        session: The session whose transaction carries the change being described.
        aggregate_type: Kind of aggregate, e.g. ``order``, ``shipment``, ``inventory``.
        aggregate_id: Business or surrogate id of the aggregate (stored as text).
        event_type: ``<aggregate>.<verb>`` in lower snake case, e.g. ``order.created``.
        payload: JSON-serialisable details (dates and decimals are converted).
        occurred_at: Business time of the change; defaults to now.
    """
    session.execute(
        insert(Event).values(
            aggregate_type=aggregate_type,
            aggregate_id=str(aggregate_id),
            event_type=event_type,
            payload=_jsonable(payload),
            occurred_at=occurred_at or utcnow(),
        )
    )
