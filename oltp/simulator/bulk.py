"""The bulk path: turn a simulated flow into OLTP rows and write them with ``COPY``.

Ids are assigned here (above every existing id, sequences moved past them afterwards), rows are ordered by business
time so ids grow with time as they would under the services, and the stock tables stay consistent: the ledger sums
to the balances, reserved equals the active reservations and never exceeds on hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import psycopg

from oltp.simulator.config import SimulationConfig
from oltp.simulator.demand import DemandPlan
from oltp.simulator.flow import FlowResult
from oltp.simulator.master import CATEGORIES, MasterData
from oltp.simulator.pgio import copy_frame, id_map, next_id, sync_sequence, upsert_frame

__all__ = ["MasterIds", "History", "write_master", "write_expected_demand", "build_history", "write_history"]


@dataclass
class MasterIds:
    """Database ids of the master data, aligned to the frames of :class:`MasterData`."""

    warehouse: np.ndarray
    item: np.ndarray
    customer: np.ndarray
    location: np.ndarray
    zone_of_location: np.ndarray
    supplier: np.ndarray
    service: dict[tuple[str, str], int]
    inbound_door: np.ndarray  # per warehouse


def write_master(conn: psycopg.Connection, master: MasterData) -> MasterIds:
    """Upsert the master data on business keys (existing rows are kept) and return their ids.

    Args:
        conn: Open connection.
        master: The master data.

    Returns:
        The ids.
    """
    wh = master.warehouses
    upsert_frame(conn, "warehouses", wh.rename({"warehouse": "code"}), ["code"])
    wmap = id_map(conn, "warehouses")
    wid = np.array([wmap[c] for c in wh["warehouse"]])
    wid_of = dict(zip(wh["warehouse"].to_list(), wid.tolist(), strict=True))

    zones = master.zones.with_columns(pl.col("warehouse").replace_strict(wid_of).alias("warehouse_id"))
    upsert_frame(conn, "zones", zones.drop("warehouse").rename({"zone": "code"}), ["warehouse_id", "code"])
    zmap = {(w, c): i for w, c, i in conn.execute("select warehouse_id, code, id from zones").fetchall()}

    locs = master.locations.with_columns(pl.col("warehouse").replace_strict(wid_of).alias("warehouse_id"))
    locs = locs.with_columns(
        pl.Series("zone_id", [zmap[(w, z)] for w, z in zip(locs["warehouse_id"], locs["zone"], strict=True)])
    )
    upsert_frame(
        conn,
        "locations",
        locs.drop("warehouse", "zone").rename({"location": "code"}),
        ["warehouse_id", "code"],
    )
    lmap = {
        (w, c): (i, z) for w, c, i, z in conn.execute("select warehouse_id, code, id, zone_id from locations")
    }
    lids = [lmap[(w, c)] for w, c in zip(locs["warehouse_id"], locs["location"], strict=True)]

    doors = master.dock_doors.with_columns(pl.col("warehouse").replace_strict(wid_of).alias("warehouse_id"))
    upsert_frame(
        conn, "dock_doors", doors.drop("warehouse").rename({"door": "code"}), ["warehouse_id", "code"]
    )
    dmap: dict[int, int] = dict(
        conn.execute(
            "select warehouse_id, min(id) from dock_doors where door_type <> 'outbound' group by warehouse_id"
        )
    )

    upsert_frame(conn, "suppliers", master.suppliers.rename({"supplier": "code"}), ["code"])
    smap = id_map(conn, "suppliers")
    items = master.items.with_columns(pl.col("supplier").replace_strict(smap).alias("supplier_id"))
    upsert_frame(conn, "items", items.drop("supplier").rename({"item": "code"}), ["code"])
    imap = id_map(conn, "items")

    cust = master.customers.drop("is_b2b").rename({"customer": "code"})
    upsert_frame(conn, "customers", cust, ["code"])
    cmap = id_map(conn, "customers")

    upsert_frame(conn, "carriers", master.carriers.rename({"carrier": "code"}), ["code"])
    crmap = id_map(conn, "carriers")
    svc = master.services.with_columns(pl.col("carrier").replace_strict(crmap).alias("carrier_id"))
    upsert_frame(
        conn, "carrier_services", svc.drop("carrier").rename({"service": "code"}), ["carrier_id", "code"]
    )
    svmap = {
        (c, s): i
        for c, s, i in conn.execute(
            "select c.code, s.code, s.id from carrier_services s join carriers c on c.id = s.carrier_id"
        )
    }
    lanes = master.lane_rates.with_columns(
        pl.Series(
            "carrier_service_id",
            [
                svmap[(c, s)]
                for c, s in zip(master.lane_rates["carrier"], master.lane_rates["service"], strict=True)
            ],
        ),
        pl.col("origin_warehouse").replace_strict(wid_of).alias("origin_warehouse_id"),
    ).drop("carrier", "service", "origin_warehouse")
    upsert_frame(
        conn,
        "lane_rates",
        lanes,
        ["carrier_service_id", "origin_warehouse_id", "destination_region"],
        update=True,
    )
    upsert_frame(
        conn,
        "sim.lane_transit",
        master.lane_transit,
        ["carrier", "service", "origin_warehouse", "destination_region"],
        update=True,
    )
    return MasterIds(
        warehouse=wid,
        item=np.array([imap[c] for c in master.items["item"]]),
        customer=np.array([cmap[c] for c in master.customers["customer"]]),
        location=np.array([x[0] for x in lids]),
        zone_of_location=np.array([x[1] for x in lids]),
        supplier=np.array([smap[c] for c in master.suppliers["supplier"]]),
        service=svmap,
        inbound_door=np.array([dmap[w] for w in wid.tolist()]),
    )


def write_expected_demand(conn: psycopg.Connection, master: MasterData, plan: DemandPlan) -> int:
    """Write ``sim.expected_demand`` (one row per item x warehouse x day).

    Args:
        conn: Open connection.
        master: Master data.
        plan: The demand plan.

    Returns:
        Rows written.
    """
    n_t, n_i, n_w = plan.expected.shape
    df = pl.DataFrame(
        {
            "item": np.repeat(np.array(master.items["item"].to_list()), n_w * n_t),
            "warehouse": np.tile(np.array(master.warehouses["warehouse"].to_list()), n_i * n_t),
            "date": np.repeat(np.tile(plan.dates, n_i), n_w),
            "expected_demand": np.round(plan.expected.transpose(1, 0, 2).reshape(-1), 6),
        }
    )
    return upsert_frame(conn, "sim.expected_demand", df, ["item", "warehouse", "date"], update=True)


@dataclass
class History:
    """Rows of every transactional table, ready to COPY, plus what the summary and feeds need."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    shipments_view: pl.DataFrame | None = None  # for feeds: shipment, carrier, tracking, mode, times, coords
    tracking_view: pl.DataFrame | None = None
    open_po_arrivals: dict[int, int] = field(
        default_factory=dict
    )  # po line id -> arrival day (services path)
    in_transit: dict[int, dt.datetime] = field(default_factory=dict)  # shipment id -> true delivery time
    stats: dict[str, int] = field(default_factory=dict)


def _ts(start: dt.datetime, day: pl.Expr, minutes: pl.Expr) -> pl.Expr:
    return pl.lit(start) + pl.duration(days=day, minutes=minutes)


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    sigma = np.sqrt(np.log1p((sd / mean) ** 2))
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)


def build_history(
    config: SimulationConfig,
    master: MasterData,
    lines: pl.DataFrame,
    flow: FlowResult,
    ids: MasterIds,
    conn: psycopg.Connection,
    rng: np.random.Generator,
    days: int,
) -> History:
    """Derive the rows of every transactional table from the flow of the first ``days`` days.

    Args:
        config: Run configuration.
        master: Master data.
        lines: All sampled order lines.
        flow: The stock flow over ``days`` days.
        ids: Master data ids.
        conn: Connection (only to find free id ranges).
        rng: Random generator.
        days: Days covered by the bulk history.

    Returns:
        The history.
    """
    h = History()
    n_w = len(master.warehouses)
    start = dt.datetime.combine(config.first_day, dt.time(0), tzinfo=dt.UTC).replace(tzinfo=None)
    items = master.items
    wcodes = master.warehouses["warehouse"].to_list()
    icodes = items["item"].to_list()
    weight_of = items["unit_weight_kg"].to_numpy()
    vol_of = (items["unit_length_cm"] * items["unit_width_cm"] * items["unit_height_cm"]).to_numpy() / 1e6
    cold = np.isin(items["temperature_class"].to_numpy(), ["chilled", "frozen"])
    cost_of = items["unit_cost"].to_numpy()

    if days == 0:
        return _opening_only(h, master, flow, ids, conn, start)
    # ---------------------------------------------------------------- orders and lines (placed before `days`)
    lines = lines.with_row_index("line_row").filter(pl.col("day") < days)
    n_lines = lines.height
    okeys = lines["order_key"].to_numpy()
    order_first = np.flatnonzero(np.r_[True, okeys[1:] != okeys[:-1]])
    n_orders = len(order_first)
    order_base, line_base = next_id(conn, "orders"), next_id(conn, "order_lines")
    order_id = order_base + np.arange(n_orders)
    line_order_pos = np.cumsum(np.r_[True, okeys[1:] != okeys[:-1]]) - 1
    line_id = line_base + np.arange(n_lines)
    lrow = lines["line_row"].to_numpy()
    l_item, l_wh = lines["item_idx"].to_numpy(), lines["warehouse_idx"].to_numpy()
    l_qty, l_day = lines["quantity"].to_numpy(), lines["day"].to_numpy()

    fills = flow.fills.filter(pl.col("line_row") < (lrow.max() + 1 if n_lines else 0))
    f_line = fills["line_row"].to_numpy()  # line_row == position: lines are a prefix of all lines
    f_qty, _f_day, _f_min = fills["quantity"].to_numpy(), fills["day"].to_numpy(), fills["minute"].to_numpy()
    f_ship = fills["ship_day"].to_numpy()
    shipped = f_ship < days
    shipped_qty = np.bincount(f_line[shipped], weights=f_qty[shipped], minlength=n_lines).astype(np.int64)
    open_alloc = np.bincount(f_line[~shipped], weights=f_qty[~shipped], minlength=n_lines).astype(np.int64)

    o_day = l_day[order_first]
    o_min = lines["minute"].to_numpy()[order_first]
    o_wh = l_wh[order_first]
    o_chan = lines["channel"].to_numpy()[order_first]
    o_cust = lines["customer_idx"].to_numpy()[order_first]
    ordered_at = np.datetime64(start) + o_day.astype("timedelta64[D]") + o_min.astype("timedelta64[m]")
    ordered_at = ordered_at + rng.integers(0, 60, n_orders).astype("timedelta64[s]")
    priority = np.select([o_chan == "b2b", o_chan == "retail", o_chan == "web"], [2, 3, 3], 4)
    promised = (
        np.datetime64(start, "D") + (o_day + np.where(np.isin(o_chan, ["b2b", "retail"]), 3, 2))
    ).astype("datetime64[D]")

    order_lines = pl.DataFrame(
        {
            "id": line_id,
            "order_id": order_id[line_order_pos],
            "line_number": lines["line_number"].to_numpy(),
            "item_id": ids.item[l_item],
            "quantity_ordered": l_qty,
            "quantity_allocated": open_alloc,
            "quantity_picked": shipped_qty,
            "quantity_shipped": shipped_qty,
            "quantity_backordered": flow.line_backordered[:n_lines],
            "quantity_cancelled": flow.line_cancelled[:n_lines],
            "unit_price": lines["unit_price"].to_numpy(),
            "is_promo": lines["is_promo"].to_numpy(),
        }
    )

    # ---------------------------------------------------------------- shipments (one per order and ship day)
    s_fill = np.flatnonzero(shipped)
    s_order = line_order_pos[f_line[s_fill]]
    s_day = f_ship[s_fill]
    o = np.lexsort((f_line[s_fill], s_order, s_day))
    s_fill, s_order, s_day = s_fill[o], s_order[o], s_day[o]
    new_ship = (
        np.r_[True, (s_order[1:] != s_order[:-1]) | (s_day[1:] != s_day[:-1])]
        if len(s_fill)
        else np.zeros(0, bool)
    )
    ship_pos = np.cumsum(new_ship) - 1
    n_ship = int(ship_pos[-1]) + 1 if len(ship_pos) else 0
    ship_base = next_id(conn, "shipments")
    ship_id = ship_base + np.arange(n_ship)
    sh_first = np.flatnonzero(new_ship)
    sh_order, sh_day = s_order[sh_first], s_day[sh_first]
    sh_wh, sh_cust = o_wh[sh_order], o_cust[sh_order]
    sl_item = l_item[f_line[s_fill]]
    sl_qty = f_qty[s_fill]
    sh_weight = np.bincount(ship_pos, weights=sl_qty * weight_of[sl_item], minlength=n_ship)
    sh_vol = np.bincount(ship_pos, weights=sl_qty * vol_of[sl_item], minlength=n_ship)
    sh_cold = np.bincount(ship_pos, weights=cold[sl_item], minlength=n_ship) > 0
    sh_chan = o_chan[sh_order]
    u = rng.random(n_ship)
    svc_key = np.select(
        [
            sh_cold,
            sh_weight > 600,
            sh_weight > 40,
            (sh_chan == "web") & (u < 0.2),
            (sh_chan == "web") & (u < 0.6),
            sh_chan == "marketplace",
        ],
        ["KNFR/REEF", "DBSC/FTL", "DBSC/LTL", "DHLX/EXP", "DHLX/STD", "POST/ECO"],
        np.where(u < 0.5, "UPSC/STD", "DHLX/STD"),
    )
    cust_region = np.array(master.customers["region"].to_list())
    sh_region = cust_region[sh_cust]
    lane = master.lane_transit.with_columns((pl.col("carrier") + "/" + pl.col("service")).alias("svc"))
    lane_rates = master.lane_rates.with_columns((pl.col("carrier") + "/" + pl.col("service")).alias("svc"))
    key_df = pl.DataFrame(
        {"svc": svc_key, "origin_warehouse": np.array(wcodes)[sh_wh], "destination_region": sh_region}
    )
    joined = key_df.join(
        lane, on=["svc", "origin_warehouse", "destination_region"], how="left", maintain_order="left"
    )
    joined = joined.join(
        lane_rates.select(
            "svc", "origin_warehouse", "destination_region", "base_rate", "rate_per_kg", "transit_days"
        ),
        on=["svc", "origin_warehouse", "destination_region"],
        how="left",
        maintain_order="left",
    )
    t_mean = joined["mean_transit_days"].fill_null(3.0).to_numpy()
    t_sd = joined["sd_transit_days"].fill_null(1.0).to_numpy()
    quoted = joined["transit_days"].fill_null(3).to_numpy()
    base_rate = joined["base_rate"].fill_null(8.0).to_numpy()
    per_kg = joined["rate_per_kg"].fill_null(0.5).to_numpy()

    # Carrier delay episodes: a few a year per carrier, adding 1-3 days to shipments picked up in them.
    carriers = list(master.carriers["carrier"].to_list())
    n_days_all = config.days
    delay = np.zeros((n_days_all + 1, len(carriers)))
    for c in range(len(carriers)):
        for _ in range(rng.poisson(4.0 * n_days_all / 365.25)):
            d0 = int(rng.integers(0, n_days_all))
            delay[d0 : d0 + int(rng.integers(2, 9)), c] = rng.uniform(1.0, 3.0)
    carrier_of = np.array([k.split("/")[0] for k in svc_key]) if n_ship else np.zeros(0, str)
    c_idx = (
        np.array([carriers.index(c) for c in carrier_of], dtype=np.int64) if n_ship else np.zeros(0, np.int64)
    )
    transit = _lognormal(rng, t_mean, t_sd) + delay[sh_day, c_idx]
    is_delayed = delay[sh_day, c_idx] > 0
    pickup_min = rng.integers(16 * 60 + 30, 19 * 60 + 30, n_ship)
    picked_up = np.datetime64(start) + sh_day.astype("timedelta64[D]") + pickup_min.astype("timedelta64[m]")
    arrive = picked_up + (transit * 86400).astype("timedelta64[s]")
    # Deliveries happen in business hours: late arrivals go out the next morning.
    a_day = arrive.astype("datetime64[D]")
    a_sec = (arrive - a_day).astype(np.int64)
    deliver = np.where(
        a_sec < 8 * 3600,
        a_day + np.timedelta64(8 * 3600, "s") + (a_sec % 3600),
        np.where(
            a_sec > 19 * 3600,
            a_day + np.timedelta64(1, "D") + np.timedelta64(8 * 3600, "s") + (a_sec % 7200),
            arrive,
        ),
    )
    deliver = np.maximum(deliver, picked_up + np.timedelta64(3, "h")).astype("datetime64[s]")
    now = np.datetime64(start) + np.timedelta64(days, "D")
    delivered = deliver <= now
    promised_at = (
        picked_up.astype("datetime64[D]") + quoted.astype("timedelta64[D]") + np.timedelta64(20, "h")
    ).astype("datetime64[s]")
    cost = base_rate + per_kg * sh_weight
    fuel = np.round(cost * 0.12, 2)
    reefer_fee = np.where(sh_cold, np.round(15 + 0.05 * sh_weight, 2), 0.0)
    dest = master.customers.select("lat", "lon").to_numpy()[sh_cust]
    whll = master.warehouses.select("lat", "lon").to_numpy()

    # Tracking events (fractions of the pickup->delivery interval), only those that happened before `now`.
    span = (deliver - picked_up).astype(np.int64)
    ev_specs = [
        ("picked_up", 0.0, np.ones(n_ship, bool)),
        ("departed_facility", None, np.ones(n_ship, bool)),
        ("arrived_at_hub", 0.45, np.ones(n_ship, bool)),
        ("delayed", 0.6, is_delayed),
        ("out_for_delivery", None, np.ones(n_ship, bool)),
        ("delivered", 1.0, np.ones(n_ship, bool)),
    ]
    ev_parts = []
    for k, (etype, frac, mask) in enumerate(ev_specs):
        if etype == "departed_facility":
            off = np.minimum(span * 0.1, 7200).astype(np.int64)
        elif etype == "out_for_delivery":
            off = np.maximum(span * 0.8, span - 4 * 3600).astype(np.int64)
        else:
            off = (span * frac).astype(np.int64)
        at = picked_up + off.astype("timedelta64[s]")
        sel = np.flatnonzero(mask & (at <= now))
        w = 1.0 if etype == "delivered" else (0.5 if etype in ("arrived_at_hub", "delayed") else 0.0)
        if etype == "out_for_delivery":
            w = 0.9
        lat = whll[sh_wh[sel], 0] * (1 - w) + dest[sel, 0] * w
        lon = whll[sh_wh[sel], 1] * (1 - w) + dest[sel, 1] * w
        ev_parts.append(
            pl.DataFrame(
                {
                    "ship_pos": sel,
                    "seq": np.full(len(sel), k),
                    "event_type": np.full(len(sel), etype),
                    "occurred_at": at[sel].astype("datetime64[us]"),
                    "lat": np.round(lat, 4),
                    "lon": np.round(lon, 4),
                }
            )
        )
    tracking = pl.concat(ev_parts).sort("occurred_at", "ship_pos", "seq")
    ofd_at = picked_up + np.maximum(span * 0.8, span - 4 * 3600).astype(np.int64).astype("timedelta64[s]")
    status_of = np.where(delivered, "delivered", np.where(ofd_at <= now, "out_for_delivery", "in_transit"))
    track_base = next_id(conn, "tracking_events")
    tracking = tracking.with_columns(pl.Series("id", track_base + np.arange(tracking.height)))
    tp = tracking["ship_pos"].to_numpy()
    locname = np.where(
        np.isin(tracking["event_type"].to_numpy(), ["picked_up", "departed_facility"]),
        np.array(master.warehouses["name"].to_list())[sh_wh[tp]],
        np.where(
            np.isin(tracking["event_type"].to_numpy(), ["arrived_at_hub", "delayed"]),
            "Hub " + sh_region[tp],
            sh_region[tp],
        ),
    )
    tracking_numbers = np.array(
        [f"{c}{i:011d}" for c, i in zip(carrier_of, ship_id, strict=True)], dtype=object
    )
    tracking_df = pl.DataFrame(
        {
            "id": tracking["id"],
            "shipment_id": ship_id[tp],
            "event_type": tracking["event_type"],
            "occurred_at": tracking["occurred_at"],
            "location_text": locname,
            "lat": tracking["lat"],
            "lon": tracking["lon"],
            "source": np.full(tracking.height, "carrier"),
            "external_id": np.char.add(
                np.char.add(carrier_of[tp].astype(str), "-"),
                tracking["id"].cast(pl.Utf8).to_numpy().astype(str),
            ),
        }
    )

    shipments = pl.DataFrame(
        {
            "id": ship_id,
            "shipment_number": [f"SH-{i:09d}" for i in ship_id],
            "order_id": order_id[sh_order],
            "warehouse_id": ids.warehouse[sh_wh],
            "customer_id": ids.customer[sh_cust],
            "carrier_service_id": [ids.service[tuple(k.split("/"))] for k in svc_key],
            "destination_region": sh_region,
            "destination_lat": dest[:, 0],
            "destination_lon": dest[:, 1],
            "tracking_number": tracking_numbers,
            "status": status_of.astype(str),
            "planned_pickup_at": (picked_up.astype("datetime64[D]") + np.timedelta64(17, "h")).astype(
                "datetime64[us]"
            ),
            "picked_up_at": picked_up.astype("datetime64[us]"),
            "promised_delivery_at": promised_at.astype("datetime64[us]"),
            "delivered_at": pl.Series(deliver.astype("datetime64[us]")).set(pl.Series(~delivered), None)
            if n_ship
            else [],
            "weight_kg": np.round(sh_weight, 3),
            "cost": np.round(cost + fuel + reefer_fee, 2),
        }
    )
    h.in_transit = {
        int(ship_id[k]): deliver[k].astype(dt.datetime).replace(tzinfo=dt.UTC)
        for k in np.flatnonzero(~delivered)
    }
    sl_base = next_id(conn, "shipment_lines")
    shipment_lines = pl.DataFrame(
        {
            "id": sl_base + np.arange(len(s_fill)),
            "shipment_id": ship_id[ship_pos],
            "order_line_id": line_id[f_line[s_fill]],
            "item_id": ids.item[sl_item],
            "quantity": sl_qty,
        }
    )
    n_pk = np.clip(np.ceil(sh_weight / 25.0), 1, 6).astype(np.int64)
    pk_ship = np.repeat(np.arange(n_ship), n_pk)
    pk_base = next_id(conn, "packages")
    packages = pl.DataFrame(
        {
            "id": pk_base + np.arange(len(pk_ship)),
            "shipment_id": ship_id[pk_ship],
            "package_number": [f"PK-{i:010d}" for i in pk_base + np.arange(len(pk_ship))],
            "weight_kg": np.round(sh_weight[pk_ship] / n_pk[pk_ship], 3),
            "volume_m3": np.round(sh_vol[pk_ship] / n_pk[pk_ship], 5),
        }
    )
    fc_parts = [("base", base_rate), ("weight", per_kg * sh_weight), ("fuel", fuel)]
    fc_ship = np.concatenate([np.arange(n_ship)] * 3 + [np.flatnonzero(sh_cold)])
    fc_type = np.concatenate(
        [np.full(n_ship, t) for t, _ in fc_parts] + [np.full(int(sh_cold.sum()), "reefer")]
    )
    fc_amt = np.concatenate([a for _, a in fc_parts] + [reefer_fee[sh_cold]])
    fc_base = next_id(conn, "freight_charges")
    o2 = np.argsort(fc_ship, kind="stable")
    freight = pl.DataFrame(
        {
            "id": fc_base + np.arange(len(fc_ship)),
            "shipment_id": ship_id[fc_ship[o2]],
            "charge_type": fc_type[o2],
            "amount": np.round(fc_amt[o2], 2),
        }
    )

    # ---------------------------------------------------------------- balances, reservations, picking
    n_i = len(items)
    cell = lambda i, w: i * n_w + w  # noqa: E731
    loc_of_cell = ids.location[master.pick_face.reshape(-1)]
    zone_of_cell = ids.zone_of_location[master.pick_face.reshape(-1)]
    bal_base = next_id(conn, "inventory_balances")
    bal_id = bal_base + np.arange(n_i * n_w)
    f_cell = cell(l_item[f_line], l_wh[f_line])
    res_base = next_id(conn, "reservations")
    res_id = res_base + np.arange(len(f_line))
    reservations = pl.DataFrame(
        {
            "id": res_id,
            "order_line_id": line_id[f_line],
            "balance_id": bal_id[f_cell],
            "quantity": f_qty,
            "quantity_picked": np.where(shipped, f_qty, 0),
            "status": np.where(shipped, "picked", "active"),
        }
    )
    wave_key = sh_day * n_w + sh_wh
    uniq_wave, wave_pos = np.unique(wave_key, return_inverse=True)
    wave_base = next_id(conn, "pick_waves")
    waves = pl.DataFrame(
        {
            "id": wave_base + np.arange(len(uniq_wave)),
            "warehouse_id": ids.warehouse[uniq_wave % n_w],
            "released_at": (
                np.datetime64(start) + (uniq_wave // n_w).astype("timedelta64[D]") + np.timedelta64(13, "h")
            ).astype("datetime64[us]"),
            "status": np.full(len(uniq_wave), "completed"),
        }
    )
    pick_at = (
        picked_up[ship_pos]
        - np.timedelta64(3, "h")
        + rng.integers(0, 5400, len(s_fill)).astype("timedelta64[s]")
    )
    pt_base = next_id(conn, "pick_tasks")
    pick_tasks = pl.DataFrame(
        {
            "id": pt_base + np.arange(len(s_fill)),
            "wave_id": wave_base + wave_pos[ship_pos],
            "reservation_id": res_id[s_fill],
            "order_line_id": line_id[f_line[s_fill]],
            "zone_id": zone_of_cell[f_cell[s_fill]],
            "location_id": loc_of_cell[f_cell[s_fill]],
            "item_id": ids.item[sl_item],
            "quantity": sl_qty,
            "quantity_picked": sl_qty,
            "status": np.full(len(s_fill), "picked"),
            "picked_at": pick_at.astype("datetime64[us]"),
        }
    )

    # ---------------------------------------------------------------- purchase orders and receipts
    po = flow.po_lines.filter(pl.col("day") < days)
    sup_idx_of_item = np.array(
        [master.suppliers["supplier"].to_list().index(s) for s in items["supplier"].to_list()]
    )
    po = po.with_columns(pl.Series("supplier_idx", sup_idx_of_item[po["item_idx"].to_numpy()]))
    po = po.sort("day", "supplier_idx", "warehouse_idx", "item_idx")
    po_keys = po.select("day", "supplier_idx", "warehouse_idx").unique(maintain_order=True)
    po_keys = po_keys.with_columns(
        pl.Series("po_id", next_id(conn, "purchase_orders") + np.arange(po_keys.height))
    )
    po = po.join(po_keys, on=["day", "supplier_idx", "warehouse_idx"], maintain_order="left")
    pol_base = next_id(conn, "purchase_order_lines")
    po = po.with_columns(
        pl.Series("pol_id", pol_base + np.arange(po.height)), (pl.col("arrival_day") < days).alias("arrived")
    )
    lt = master.suppliers["lead_time_mean_days"].to_numpy()
    arrived_all = po.group_by("po_id").agg(
        pl.col("arrived").all().alias("all"), pl.col("arrived").any().alias("any")
    )
    po_keys = po_keys.join(arrived_all, on="po_id", maintain_order="left")
    pk_day = po_keys["day"].to_numpy()
    purchase_orders = pl.DataFrame(
        {
            "id": po_keys["po_id"],
            "po_number": [f"PO-{i:08d}" for i in po_keys["po_id"]],
            "supplier_id": ids.supplier[po_keys["supplier_idx"].to_numpy()],
            "warehouse_id": ids.warehouse[po_keys["warehouse_idx"].to_numpy()],
            "status": np.where(
                po_keys["all"], "received", np.where(po_keys["any"], "partially_received", "open")
            ),
            "source": np.full(po_keys.height, "simulator"),
            "ordered_at": (
                np.datetime64(start) + pk_day.astype("timedelta64[D]") + np.timedelta64(10, "h")
            ).astype("datetime64[us]"),
            "expected_at": (
                np.datetime64(start)
                + (pk_day + np.ceil(lt[po_keys["supplier_idx"].to_numpy()]).astype(np.int64)).astype(
                    "timedelta64[D]"
                )
                + np.timedelta64(8, "h")
            ).astype("datetime64[us]"),
        }
    )
    po_item, _po_wh = po["item_idx"].to_numpy(), po["warehouse_idx"].to_numpy()
    purchase_order_lines = pl.DataFrame(
        {
            "id": po["pol_id"],
            "purchase_order_id": po["po_id"],
            "item_id": ids.item[po_item],
            "quantity_ordered": po["quantity"],
            "quantity_received": np.where(po["arrived"], po["quantity"], 0),
            "unit_cost": np.round(cost_of[po_item], 2),
        }
    )
    h.open_po_arrivals = dict(
        zip(
            po.filter(~pl.col("arrived"))["pol_id"].to_list(),
            po.filter(~pl.col("arrived"))["arrival_day"].to_list(),
            strict=True,
        )
    )
    rc = po.filter(pl.col("arrived"))
    rkeys = (
        rc.select("po_id", "arrival_day", "warehouse_idx")
        .unique(maintain_order=True)
        .sort("arrival_day", "po_id")
    )
    rkeys = rkeys.with_columns(
        pl.Series("receipt_id", next_id(conn, "receipts") + np.arange(rkeys.height)),
        pl.Series("minute", rng.integers(6 * 60, 11 * 60, rkeys.height)),
    )
    rc = rc.join(rkeys, on=["po_id", "arrival_day", "warehouse_idx"], maintain_order="left").sort(
        "receipt_id", "item_idx"
    )
    r_at = _ts(start, pl.col("arrival_day"), pl.col("minute"))
    receipts = rkeys.select(
        pl.col("receipt_id").alias("id"),
        pl.col("po_id").alias("purchase_order_id"),
        pl.col("warehouse_idx")
        .map_elements(lambda w: int(ids.warehouse[w]), return_dtype=pl.Int64)
        .alias("warehouse_id"),
        r_at.alias("received_at"),
    )
    rc_cell = cell(rc["item_idx"].to_numpy(), rc["warehouse_idx"].to_numpy())
    rl_base = next_id(conn, "receipt_lines")
    receipt_lines = pl.DataFrame(
        {
            "id": rl_base + np.arange(rc.height),
            "receipt_id": rc["receipt_id"],
            "item_id": ids.item[rc["item_idx"].to_numpy()],
            "location_id": loc_of_cell[rc_cell],
            "quantity": rc["quantity"],
        }
    )
    dock = receipts.select(
        pl.Series("id", next_id(conn, "dock_appointments") + np.arange(receipts.height)),
        pl.col("warehouse_id"),
        pl.col("warehouse_id")
        .replace_strict(dict(zip(ids.warehouse.tolist(), ids.inbound_door.tolist(), strict=True)))
        .alias("dock_door_id"),
        pl.lit("inbound").alias("direction"),
        pl.col("purchase_order_id"),
        (pl.col("received_at") - pl.duration(minutes=45)).alias("starts_at"),
        (pl.col("received_at") + pl.duration(minutes=45)).alias("ends_at"),
        pl.lit("completed").alias("status"),
    )

    # ---------------------------------------------------------------- returns
    cats = items["category"].to_numpy()
    ret_rate = np.array([CATEGORIES[c]["ret"] for c in cats])
    d_fill = s_fill[delivered[ship_pos]]
    d_ship = ship_pos[delivered[ship_pos]]
    r_sel = rng.random(len(d_fill)) < ret_rate[l_item[f_line[d_fill]]]
    rf, rs = d_fill[r_sel], d_ship[r_sel]
    r_at_np = deliver[rs] + rng.integers(3 * 86400, 30 * 86400, len(rf)).astype("timedelta64[s]")
    keep = r_at_np <= now
    rf, rs, r_at_np = rf[keep], rs[keep], r_at_np[keep]
    o3 = np.argsort(r_at_np, kind="stable")
    rf, rs, r_at_np = rf[o3], rs[o3], r_at_np[o3]
    r_qty = np.maximum(1, np.floor(f_qty[rf] * rng.uniform(0.2, 1.0, len(rf)))).astype(np.int64)
    restock = rng.random(len(rf)) < np.where(cats[l_item[f_line[rf]]] == "apparel", 0.85, 0.65)
    ret_base = next_id(conn, "returns")
    ret_id = ret_base + np.arange(len(rf))
    reasons = np.array(["damaged", "wrong_item", "not_as_described", "no_longer_needed", "late_delivery"])
    returns = pl.DataFrame(
        {
            "id": ret_id,
            "rma_number": [f"RMA-{i:08d}" for i in ret_id],
            "order_id": order_id[line_order_pos[f_line[rf]]],
            "warehouse_id": ids.warehouse[l_wh[f_line[rf]]],
            "status": np.full(len(rf), "closed"),
            "reason": reasons[rng.integers(0, len(reasons), len(rf))],
            "received_at": r_at_np.astype("datetime64[us]"),
        }
    )
    return_lines = pl.DataFrame(
        {
            "id": next_id(conn, "return_lines") + np.arange(len(rf)),
            "return_id": ret_id,
            "order_line_id": line_id[f_line[rf]],
            "item_id": ids.item[l_item[f_line[rf]]],
            "quantity": r_qty,
            "disposition": np.where(restock, "restock", "scrap"),
        }
    )

    # ---------------------------------------------------------------- ledger and balances
    op = flow.opening.reshape(-1)
    cc = flow.cycle_counts.filter(pl.col("day") < days)
    cc_cell = cell(cc["item_idx"].to_numpy(), cc["warehouse_idx"].to_numpy())
    cc_at = (
        np.datetime64(start)
        + cc["day"].to_numpy().astype("timedelta64[D]")
        + rng.integers(15 * 60, 17 * 60, cc.height).astype("timedelta64[m]")
    )
    rc_at = receipts.select("id", "received_at").rename({"id": "receipt_id"})
    rc2 = rc.join(rc_at, on="receipt_id", maintain_order="left")
    rr_cell = cell(l_item[f_line[rf]], l_wh[f_line[rf]])[restock]
    parts = [
        (
            np.flatnonzero(op > 0),
            op[op > 0],
            np.full(int((op > 0).sum()), np.datetime64(start, "s")),
            "opening_balance",
            None,
            None,
        ),
        (
            rc_cell,
            rc["quantity"].to_numpy(),
            rc2["received_at"].to_numpy().astype("datetime64[s]"),
            "receipt",
            "receipt",
            rc["receipt_id"].to_numpy(),
        ),
        (cc_cell, cc["delta"].to_numpy(), cc_at.astype("datetime64[s]"), "cycle_count", "cycle_count", None),
        (
            f_cell[s_fill],
            -sl_qty,
            picked_up[ship_pos].astype("datetime64[s]"),
            "ship",
            "shipment",
            ship_id[ship_pos],
        ),
        (
            rr_cell,
            r_qty[restock],
            r_at_np[restock].astype("datetime64[s]"),
            "return_restock",
            "return",
            ret_id[restock],
        ),
    ]
    ledger = (
        pl.concat(
            [
                pl.DataFrame(
                    {
                        "cell": c.astype(np.int64),
                        "quantity_delta": q.astype(np.int64),
                        "occurred_at": t.astype("datetime64[us]"),
                        "reason": np.full(len(c), r),
                        "reference_type": pl.Series([rt] * len(c), dtype=pl.Utf8),
                        "reference_id": pl.Series(
                            ref if ref is not None else [None] * len(c), dtype=pl.Int64
                        ),
                    }
                )
                for c, q, t, r, rt, ref in parts
            ]
        )
        .filter(pl.col("quantity_delta") != 0)
        .sort("occurred_at", "cell", maintain_order=True)
    )
    lc = ledger["cell"].to_numpy()
    ledger = ledger.with_columns(
        pl.Series("id", next_id(conn, "inventory_ledger") + np.arange(ledger.height)),
        pl.Series("warehouse_id", ids.warehouse[lc % n_w]),
        pl.Series("location_id", loc_of_cell[lc]),
        pl.Series("item_id", ids.item[lc // n_w]),
    ).drop("cell")
    on_hand = np.bincount(lc, weights=ledger["quantity_delta"].to_numpy(), minlength=n_i * n_w).astype(
        np.int64
    )
    reserved = np.bincount(f_cell[~shipped], weights=f_qty[~shipped], minlength=n_i * n_w).astype(np.int64)
    expect = (
        flow.available.reshape(-1)
        + reserved
        + np.bincount(rr_cell, weights=r_qty[restock], minlength=n_i * n_w).astype(np.int64)
    )
    assert (on_hand == expect).all(), "ledger and flow disagree"
    assert (reserved <= on_hand).all() and (on_hand >= 0).all()
    balances = pl.DataFrame(
        {
            "id": bal_id,
            "warehouse_id": ids.warehouse[np.arange(n_i * n_w) % n_w],
            "location_id": loc_of_cell,
            "item_id": ids.item[np.arange(n_i * n_w) // n_w],
            "on_hand": on_hand,
            "reserved": reserved,
        }
    )

    # ---------------------------------------------------------------- order statuses, history
    agg = pl.DataFrame(
        {
            "pos": line_order_pos,
            "ship": shipped_qty,
            "alloc": open_alloc,
            "bo": flow.line_backordered[:n_lines],
            "init": flow.line_initial_fill[:n_lines],
            "need": l_qty,
            "canc": flow.line_cancelled[:n_lines],
        }
    )
    agg = agg.group_by("pos").agg(pl.all().sum()).sort("pos")
    sh_frame = pl.DataFrame(
        {
            "pos": sh_order,
            "pick": picked_up.astype("datetime64[us]"),
            "dlv": deliver.astype("datetime64[us]"),
            "done": delivered,
        }
    )
    sh_agg = sh_frame.group_by("pos").agg(
        pl.col("pick").min().alias("first_pick"),
        pl.col("dlv").max().alias("last_dlv"),
        pl.col("done").all().alias("all_done"),
    )
    agg = agg.join(sh_agg, on="pos", how="left").sort("pos")
    status = np.empty(n_orders, dtype=object)
    hist: list[tuple] = []
    oa = ordered_at.astype("datetime64[us]").astype(dt.datetime)
    for pos, ship, alloc, bo, init, need, canc, first_pick, last_dlv, all_done in agg.iter_rows():
        t0 = oa[pos]
        hist.append((pos, None, "new", t0))
        first = (
            "allocated"
            if init == need
            else (
                "partially_allocated"
                if init > 0
                else ("backordered" if bo + ship + alloc > 0 or canc < need else "cancelled")
            )
        )
        if first == "backordered" and canc == need:
            first = "backordered"
        hist.append((pos, "new", first, t0 + dt.timedelta(seconds=2)))
        cur = first
        if ship > 0:
            fp = first_pick
            for st, back in (("released", 5.0), ("picked", 3.0), ("packed", 1.0)):
                hist.append((pos, cur, st, fp - dt.timedelta(hours=back)))
                cur = st
            hist.append((pos, cur, "shipped", fp))
            cur = "shipped"
            if all_done and bo == 0 and alloc == 0:
                hist.append((pos, cur, "delivered", last_dlv))
                cur = "delivered"
        final = cur
        if alloc > 0 and cur not in ("allocated", "partially_allocated"):
            final = "allocated"
        elif bo > 0 and alloc == 0 and cur != "backordered":
            final = "backordered"
        elif ship == 0 and alloc == 0 and bo == 0:
            final = "cancelled"
        if final != cur:
            hist.append(
                (
                    pos,
                    cur,
                    final,
                    max(
                        t0 + dt.timedelta(seconds=3),
                        (last_dlv or t0) if final == "cancelled" else t0 + dt.timedelta(seconds=3),
                    ),
                )
            )
        status[pos] = final
    orders = pl.DataFrame(
        {
            "id": order_id,
            "order_number": [f"SO-{i:09d}" for i in order_id],
            "customer_id": ids.customer[o_cust],
            "warehouse_id": ids.warehouse[o_wh],
            "channel": o_chan,
            "priority": priority,
            "ordered_at": ordered_at.astype("datetime64[us]"),
            "promised_date": promised,
            "status": status.astype(str),
        }
    )
    hist_df = pl.DataFrame(hist, schema=["pos", "from_status", "to_status", "changed_at"], orient="row").sort(
        "changed_at", "pos", maintain_order=True
    )
    osh = hist_df.select(
        pl.Series("id", next_id(conn, "order_status_history") + np.arange(hist_df.height)),
        pl.col("pos").map_batches(lambda s: pl.Series(order_id[s.to_numpy()])).alias("order_id"),
        "from_status",
        "to_status",
        "changed_at",
        pl.lit("simulator").alias("reason"),
    )

    # ---------------------------------------------------------------- outbox events
    def js(*pairs: tuple[str, pl.Expr, bool]) -> pl.Expr:
        parts_ = [pl.lit("{")]
        for k, (name, expr, quoted) in enumerate(pairs):
            parts_.append(pl.lit(("," if k else "") + f'"{name}":' + ('"' if quoted else "")))
            parts_.append(expr.cast(pl.Utf8))
            if quoted:
                parts_.append(pl.lit('"'))
        parts_.append(pl.lit("}"))
        return pl.concat_str(parts_)

    ccodes = np.array(master.customers["customer"].to_list())
    o_frame = orders.with_columns(
        pl.Series("wh", np.array(wcodes)[o_wh]),
        pl.Series("cust", ccodes[o_cust]),
        pl.Series("n_lines", np.bincount(line_order_pos, minlength=n_orders)),
        pl.Series("first_status", [None] * n_orders, dtype=pl.Utf8),
    )
    first_status = hist_df.filter(pl.col("from_status") == "new").sort("pos").select("to_status")["to_status"]
    o_frame = o_frame.with_columns(first_status.alias("first_status"))
    frames = [
        o_frame.select(
            pl.lit("order").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("order.created").alias("event_type"),
            js(
                ("order_number", pl.col("order_number"), True),
                ("customer", pl.col("cust"), True),
                ("warehouse", pl.col("wh"), True),
                ("channel", pl.col("channel"), True),
                ("lines", pl.col("n_lines"), False),
            ).alias("payload"),
            pl.col("ordered_at").alias("occurred_at"),
        ),
        o_frame.select(
            pl.lit("order").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("order.allocated").alias("event_type"),
            js(
                ("order_number", pl.col("order_number"), True), ("status", pl.col("first_status"), True)
            ).alias("payload"),
            (pl.col("ordered_at") + pl.duration(seconds=2)).alias("occurred_at"),
        ),
        shipments.select(
            pl.lit("shipment").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("shipment.shipped").alias("event_type"),
            js(
                ("shipment_number", pl.col("shipment_number"), True),
                ("order_id", pl.col("order_id"), False),
                ("tracking_number", pl.col("tracking_number"), True),
                ("weight_kg", pl.col("weight_kg"), False),
            ).alias("payload"),
            pl.col("picked_up_at").alias("occurred_at"),
        ),
        shipments.filter(pl.col("delivered_at").is_not_null()).select(
            pl.lit("shipment").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("shipment.delivered").alias("event_type"),
            js(
                ("shipment_number", pl.col("shipment_number"), True), ("order_id", pl.col("order_id"), False)
            ).alias("payload"),
            pl.col("delivered_at").alias("occurred_at"),
        ),
        purchase_orders.select(
            pl.lit("purchase_order").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("purchase_order.created").alias("event_type"),
            js(
                ("po_number", pl.col("po_number"), True),
                ("supplier_id", pl.col("supplier_id"), False),
                ("warehouse_id", pl.col("warehouse_id"), False),
            ).alias("payload"),
            pl.col("ordered_at").alias("occurred_at"),
        ),
        receipts.select(
            pl.lit("purchase_order").alias("aggregate_type"),
            pl.col("purchase_order_id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("purchase_order.received").alias("event_type"),
            js(("receipt_id", pl.col("id"), False), ("warehouse_id", pl.col("warehouse_id"), False)).alias(
                "payload"
            ),
            pl.col("received_at").alias("occurred_at"),
        ),
        pl.DataFrame(
            {
                "cell": cc_cell,
                "delta": cc["delta"].to_numpy(),
                "counted": cc["counted"].to_numpy(),
                "at": cc_at.astype("datetime64[us]"),
            }
        ).select(
            pl.lit("inventory").alias("aggregate_type"),
            pl.concat_str(
                [
                    pl.col("cell").map_batches(lambda s: pl.Series(np.array(wcodes)[s.to_numpy() % n_w])),
                    pl.lit("/"),
                    pl.col("cell").map_batches(lambda s: pl.Series(np.array(icodes)[s.to_numpy() // n_w])),
                ]
            ).alias("aggregate_id"),
            pl.lit("inventory.counted").alias("event_type"),
            js(("delta", pl.col("delta"), False), ("reason", pl.lit("cycle_count"), True)).alias("payload"),
            pl.col("at").alias("occurred_at"),
        ),
        returns.select(
            pl.lit("return").alias("aggregate_type"),
            pl.col("id").cast(pl.Utf8).alias("aggregate_id"),
            pl.lit("return.received").alias("event_type"),
            js(("rma_number", pl.col("rma_number"), True), ("order_id", pl.col("order_id"), False)).alias(
                "payload"
            ),
            pl.col("received_at").alias("occurred_at"),
        ),
    ]
    events_df = pl.concat(frames).sort("occurred_at", maintain_order=True)
    events_df = events_df.with_columns(pl.Series("id", next_id(conn, "events") + np.arange(events_df.height)))

    h.tables = {
        "orders": orders,
        "order_lines": order_lines,
        "order_status_history": osh,
        "inventory_balances": balances,
        "reservations": reservations,
        "pick_waves": waves,
        "pick_tasks": pick_tasks,
        "purchase_orders": purchase_orders,
        "purchase_order_lines": purchase_order_lines,
        "receipts": receipts,
        "receipt_lines": receipt_lines,
        "dock_appointments": dock,
        "shipments": shipments,
        "shipment_lines": shipment_lines,
        "packages": packages,
        "tracking_events": tracking_df,
        "freight_charges": freight,
        "returns": returns,
        "return_lines": return_lines,
        "inventory_ledger": ledger,
        "events": events_df,
    }
    modes = dict(
        zip(
            [f"{c}/{s}" for c, s in zip(master.services["carrier"], master.services["service"], strict=True)],
            master.services["mode"],
            strict=True,
        )
    )
    h.shipments_view = pl.DataFrame(
        {
            "shipment_id": ship_id,
            "shipment_number": shipments["shipment_number"],
            "carrier": carrier_of,
            "tracking_number": tracking_numbers,
            "mode": [modes[k] for k in svc_key],
            "warehouse_idx": sh_wh,
            "picked_up_at": picked_up.astype("datetime64[us]"),
            "deliver_at": deliver.astype("datetime64[us]"),
            "dest_lat": dest[:, 0],
            "dest_lon": dest[:, 1],
            "cold": sh_cold,
        }
    )
    h.tracking_view = tracking_df.select(
        "external_id", "shipment_id", "event_type", "occurred_at", "location_text", "lat", "lon"
    )
    h.stats = {
        "orders": n_orders,
        "order_lines": n_lines,
        "shipments": n_ship,
        "purchase_orders": purchase_orders.height,
        "returns": returns.height,
        "ledger_rows": ledger.height,
        "events": events_df.height,
        "tracking_events": tracking_df.height,
    }
    return h


def _opening_only(
    h: History,
    master: MasterData,
    flow: FlowResult,
    ids: MasterIds,
    conn: psycopg.Connection,
    start: dt.datetime,
) -> History:
    """A history of zero days: opening balances (and their ledger rows) only; the services write the rest."""
    n_w = len(master.warehouses)
    n_c = len(master.items) * n_w
    loc_of_cell = ids.location[master.pick_face.reshape(-1)]
    op = flow.opening.reshape(-1).astype(np.int64)
    cells = np.arange(n_c)
    balances = pl.DataFrame(
        {
            "id": next_id(conn, "inventory_balances") + cells,
            "warehouse_id": ids.warehouse[cells % n_w],
            "location_id": loc_of_cell,
            "item_id": ids.item[cells // n_w],
            "on_hand": op,
            "reserved": np.zeros(n_c, dtype=np.int64),
        }
    )
    pos = np.flatnonzero(op > 0)
    ledger = pl.DataFrame(
        {
            "id": next_id(conn, "inventory_ledger") + np.arange(len(pos)),
            "occurred_at": [start] * len(pos),
            "warehouse_id": ids.warehouse[pos % n_w],
            "location_id": loc_of_cell[pos],
            "item_id": ids.item[pos // n_w],
            "quantity_delta": op[pos],
            "reason": ["opening_balance"] * len(pos),
        }
    )
    h.tables = {t: pl.DataFrame() for t in WRITE_ORDER}
    h.tables["inventory_balances"] = balances
    h.tables["inventory_ledger"] = ledger
    h.stats = {"orders": 0, "order_lines": 0, "shipments": 0, "ledger_rows": ledger.height}
    return h


WRITE_ORDER = (
    "orders",
    "order_lines",
    "order_status_history",
    "inventory_balances",
    "reservations",
    "pick_waves",
    "pick_tasks",
    "purchase_orders",
    "purchase_order_lines",
    "receipts",
    "receipt_lines",
    "dock_appointments",
    "shipments",
    "shipment_lines",
    "packages",
    "tracking_events",
    "freight_charges",
    "returns",
    "return_lines",
    "inventory_ledger",
    "events",
)


def write_history(conn: psycopg.Connection, history: History, progress=None) -> int:
    """COPY every table of ``history`` (foreign-key order) and move the id sequences past the new ids.

    Args:
        conn: Open connection (one transaction: all or nothing).
        history: The rows.
        progress: Optional ``advance(n, table)`` callback.

    Returns:
        Total rows written.
    """
    total = 0
    # Foreign-key checks are per-row triggers and dominate COPY time; the ids were assigned consistently above,
    # so a superuser session skips them for this transaction (``replica`` role). Without the privilege the load
    # still works, just slower.
    try:
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        pass
    else:
        conn.execute("set local session_replication_role = replica")
    for table in WRITE_ORDER:
        df = history.tables[table]
        total += copy_frame(conn, table, df)
        if df.height:
            sync_sequence(conn, table)
        if progress is not None:
            progress(1, table)
    return total
