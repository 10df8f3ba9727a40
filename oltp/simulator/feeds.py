"""Landing feeds for ingest: carrier tracking updates (JSON lines) and IoT telemetry (CSV), one file per day.

Both are derived from what the OLTP holds (so bulk and services histories feed the same way): tracking updates are
the carriers' view of ``tracking_events`` (same ``event_id`` as ``tracking_events.external_id``); telemetry has
temperature readings of chilled/frozen zones and of reefer shipments (with occasional excursions) and GPS pings of
trucks on road shipments in transit. A small share of rows is deliberately malformed (bad timestamp, unknown
event type, missing key, non-numeric temperature) so ingest's quarantine is exercised; their count is returned.
Files are written atomically (temporary name, then rename) so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from oltp.simulator.config import SimulationConfig
from oltp.simulator.master import MasterData
from stockyard.feeds import TELEMETRY_COLUMNS

__all__ = ["write_feeds", "TELEMETRY_HEADER", "atomic_write"]

TELEMETRY_HEADER = list(TELEMETRY_COLUMNS)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename (readers see all or nothing).

    Args:
        path: Destination.
        data: Content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="seconds")


def write_feeds(
    conn: psycopg.Connection,
    landing: Path,
    config: SimulationConfig,
    master: MasterData,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Write tracking and telemetry files for the last ``config.feed_days`` simulated days.

    Args:
        conn: Connection to the simulated database.
        landing: The landing directory (``settings.landing_dir``).
        config: Run configuration.
        master: Master data (zones and their temperature ranges).
        rng: Random generator.

    Returns:
        ``feed_files``, ``feed_rows``, ``feed_bad_rows``.
    """
    start = dt.datetime.combine(config.first_day, dt.time(0), tzinfo=dt.UTC)
    n_days = config.days
    first = 0 if config.feed_days is None else max(0, n_days - config.feed_days)
    w_start, w_end = start + dt.timedelta(days=first), start + dt.timedelta(days=n_days)
    bad_rate = config.bad_row_rate
    files = rows = bad = 0

    tracking = conn.execute(
        """
        select t.external_id, c.code, s.tracking_number, t.event_type, t.occurred_at, t.location_text, t.lat, t.lon
        from tracking_events t
        join shipments s on s.id = t.shipment_id
        join carrier_services cs on cs.id = s.carrier_service_id
        join carriers c on c.id = cs.carrier_id
        where t.occurred_at >= %s and t.occurred_at < %s
        order by t.occurred_at, t.id
        """,
        (w_start, w_end),
    ).fetchall()
    ships = conn.execute(
        """
        select s.shipment_number, cs.mode, w.code, w.lat, w.lon, s.destination_lat, s.destination_lon,
               s.picked_up_at, coalesce(s.delivered_at, s.promised_delivery_at, s.picked_up_at + interval '3 days')
        from shipments s
        join carrier_services cs on cs.id = s.carrier_service_id
        join warehouses w on w.id = s.warehouse_id
        where s.picked_up_at is not null and s.picked_up_at < %s
          and coalesce(s.delivered_at, %s) >= %s and cs.mode in ('reefer', 'ltl', 'ftl')
        order by s.id
        """,
        (w_end, w_end, w_start),
    ).fetchall()
    zones = [
        (z["warehouse"], z["zone"], z["min_temp_c"], z["max_temp_c"])
        for z in master.zones.iter_rows(named=True)
        if z["temperature_class"] in ("chilled", "frozen")
    ]

    by_day: dict[int, list[tuple]] = {}
    for row in tracking:
        by_day.setdefault((row[4] - start).days, []).append(row)
    for d in range(first, n_days):
        day = (start + dt.timedelta(days=d)).strftime("%Y%m%d")
        # ---- tracking
        out = io.StringIO()
        for ext, carrier, tn, etype, at, loc, lat, lon in by_day.get(d, []):
            rec: dict[str, Any] = {
                "event_id": ext,
                "carrier": carrier,
                "tracking_number": tn,
                "event_type": etype,
                "occurred_at": _iso(at),
                "location": loc,
                "lat": lat,
                "lon": lon,
            }
            if rng.random() < bad_rate:
                kind = int(rng.integers(3))
                if kind == 0:
                    rec["occurred_at"] = at.strftime("%d/%m/%Y %H:%M")  # not ISO, no offset
                elif kind == 1:
                    rec["event_type"] = "teleported"
                else:
                    del rec["tracking_number"]
                bad += 1
            out.write(json.dumps(rec) + "\n")
            rows += 1
        atomic_write(landing / "tracking" / f"tracking_{day}_0.jsonl", out.getvalue().encode())
        files += 1

        # ---- telemetry
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(TELEMETRY_HEADER)
        day_start = start + dt.timedelta(days=d)
        recs: list[list[Any]] = []
        for wcode, zcode, tmin, tmax in zones:
            mid = (tmin + tmax) / 2
            for k in range(2):
                for hour in range(2, 24, 4):
                    ts = day_start + dt.timedelta(hours=hour, minutes=int(rng.integers(0, 30)))
                    temp = rng.normal(mid, (tmax - tmin) / 8)
                    if rng.random() < 0.02:  # door left open, compressor fault
                        temp = tmax + rng.uniform(1.5, 8.0)
                    recs.append(
                        [
                            f"ZS-{wcode}-{zcode}-{k + 1}",
                            "zone_sensor",
                            "temperature",
                            wcode,
                            zcode,
                            "",
                            _iso(ts),
                            round(float(temp), 2),
                            "",
                            "",
                            "",
                        ]
                    )
        day_end = day_start + dt.timedelta(days=1)
        for number, mode, wcode, wlat, wlon, dlat, dlon, t0, t1 in ships:
            if t0 >= day_end or t1 < day_start:
                continue
            span = max((t1 - t0).total_seconds(), 3600.0)
            for hour in range(1, 24, 6):
                ts = day_start + dt.timedelta(hours=hour, minutes=int(rng.integers(0, 20)))
                if ts < t0 or ts > t1:
                    continue
                f = (ts - t0).total_seconds() / span
                if mode == "reefer":
                    temp = rng.normal(4.0, 0.8) if rng.random() > 0.015 else rng.uniform(9.0, 14.0)
                    recs.append(
                        [
                            f"RF-{number}",
                            "reefer",
                            "temperature",
                            wcode,
                            "",
                            number,
                            _iso(ts),
                            round(float(temp), 2),
                            "",
                            "",
                            "",
                        ]
                    )
                lat = wlat + (dlat - wlat) * f + rng.normal(0, 0.02)
                lon = wlon + (dlon - wlon) * f + rng.normal(0, 0.02)
                recs.append(
                    [
                        f"TRK-{number}",
                        "truck",
                        "gps",
                        wcode,
                        "",
                        number,
                        _iso(ts),
                        "",
                        round(float(lat), 5),
                        round(float(lon), 5),
                        round(float(rng.uniform(0, 88)), 1),
                    ]
                )
        for reading in recs:
            if rng.random() < bad_rate:
                kind = int(rng.integers(3))
                if kind == 0:
                    reading[6] = "yesterday 25:61"
                elif kind == 1:
                    reading[7] = "hot"
                    reading[2] = "temperature"
                else:
                    reading[0] = ""  # missing device id
                bad += 1
            wr.writerow(reading)
        rows += len(recs)
        atomic_write(landing / "telemetry" / f"telemetry_{day}_0.csv", buf.getvalue().encode())
        files += 1
    return {"feed_files": files, "feed_rows": rows, "feed_bad_rows": bad}
