"""The landing-feed contract: what the files under ``$STOCKYARD_HOME/landing/`` contain.

Writers (carriers, IoT gateways, the simulator in ``oltp.simulator``) and the reader (``ingest.feeds``) share this one
definition, so a column cannot be renamed on one side only.

- ``landing/tracking/*.jsonl``: one carrier tracking update per line, a JSON object with :data:`TRACKING_SCHEMA`'s
  fields (``occurred_at`` ISO-8601 with an offset; ``event_type`` one of ``oltp.models.TRACKING_EVENT_TYPES``).
- ``landing/telemetry/*.csv``: a header of :data:`TELEMETRY_COLUMNS` then readings; temperature rows need
  ``temperature_c``, gps rows need ``lat``/``lon``.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "DEVICE_TYPES",
    "READING_TYPES",
    "TELEMETRY_COLUMNS",
    "TELEMETRY_SCHEMA",
    "TRACKING_SCHEMA",
]

_TS = pa.timestamp("us", tz="UTC")

TRACKING_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("carrier", pa.string()),
        ("tracking_number", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", _TS),
        ("location", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
    ]
)
TELEMETRY_SCHEMA = pa.schema(
    [
        ("device_id", pa.string()),
        ("device_type", pa.string()),
        ("reading_type", pa.string()),
        ("warehouse", pa.string()),
        ("zone", pa.string()),
        ("shipment_number", pa.string()),
        ("ts", _TS),
        ("temperature_c", pa.float64()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("speed_kmh", pa.float64()),
    ]
)
TELEMETRY_COLUMNS: tuple[str, ...] = tuple(TELEMETRY_SCHEMA.names)
DEVICE_TYPES = frozenset({"zone_sensor", "reefer", "truck"})
READING_TYPES = frozenset({"temperature", "gps"})
