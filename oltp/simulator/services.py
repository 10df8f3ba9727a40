"""The services path: the final days of a run driven day by day through the domain services.

Every business step goes through ``oltp`` services, one transaction each (as the API would): receipts of
purchase orders, re-allocation of backorders, ``place_order`` (lost sales cancelled with ``cancel_order``), pick
waves and confirmations, ``ship``, carrier tracking scans (``delivered`` scans deliver), returns, cycle counts and
(s, S) purchase orders. The demand is the same sampled order lines as the bulk path, so a run's history does
not depend on where the bulk/services boundary falls; live state (open orders, reservations, shipments in transit,
open purchase orders) comes from the real services.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import text

from oltp.simulator.bulk import History
from oltp.simulator.config import SimulationConfig
from oltp.simulator.demand import BACKORDER_CHANNELS, DemandPlan, order_up_to
from oltp.simulator.flow import SHIP_CUTOFF_MINUTE, FlowResult
from oltp.simulator.master import CATEGORIES, MasterData

__all__ = ["run_services", "choose_service"]


def choose_service(cold: bool, weight_kg: float, channel: str, u: float) -> tuple[str, str]:
    """The carrier and service a shipment goes with (same rule as the bulk path).

    Args:
        cold: Any chilled/frozen item on it.
        weight_kg: Shipment weight.
        channel: Order channel.
        u: A uniform draw in [0, 1).

    Returns:
        ``(carrier code, service code)``.
    """
    if cold:
        return "KNFR", "REEF"
    if weight_kg > 600:
        return "DBSC", "FTL"
    if weight_kg > 40:
        return "DBSC", "LTL"
    if channel == "web" and u < 0.2:
        return "DHLX", "EXP"
    if channel == "web" and u < 0.6:
        return "DHLX", "STD"
    if channel == "marketplace":
        return "POST", "ECO"
    return ("UPSC", "STD") if u < 0.5 else ("DHLX", "STD")


def run_services(
    uri: str,
    config: SimulationConfig,
    master: MasterData,
    plan: DemandPlan,
    lines: pl.DataFrame,
    flow: FlowResult,
    history: History,
    rng: np.random.Generator,
    *,
    first_day: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run days ``first_day .. config.days - 1`` through the domain services.

    Args:
        uri: Database URI.
        config: Run configuration.
        master: Master data.
        plan: Demand plan.
        lines: All sampled order lines.
        flow: The bulk flow (policy parameters and the opening state are taken from it).
        history: The bulk history (open purchase orders, shipments in transit).
        rng: Random generator.
        first_day: First day run through the services.
        progress: Optional ``advance(n)`` callback, called once per day.

    Returns:
        Counts: ``orders``, ``shipments``, ``receipts``, ``purchase_orders``, ``tracking_events``, ``returns``,
        ``cycle_counts``, ``lost_orders``, ``stockout_cell_days``.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import NullPool

    from oltp.db import make_sessionmaker
    from oltp.inventory import cycle_count
    from oltp.orders import allocate, cancel_order, place_order
    from oltp.picking import confirm_pick, release_wave
    from oltp.returns import receive_return
    from oltp.shipments import record_tracking_event, ship
    from oltp.supply import create_purchase_order, receive_purchase_order
    from stockyard.errors import ConflictError
    from stockyard.pg import sqlalchemy_url

    # A dedicated engine: commits of simulated history need not wait for the WAL flush (a crash loses at most
    # the last simulated day, which a re-run regenerates).
    engine = create_engine(
        sqlalchemy_url(uri), poolclass=NullPool, connect_args={"options": "-c synchronous_commit=off"}
    )
    maker = make_sessionmaker(engine)
    # The services take the caller's session and never commit; the simulator composes one simulated day's
    # operations into one transaction (a day is all or nothing), which keeps commits and round trips down.
    current: dict[str, Session] = {}

    def tx(fn: Callable[..., Any], **kwargs: Any) -> Any:
        return fn(session=current["s"], **kwargs)

    def sql(statement: str, **params: Any) -> Any:
        return current["s"].execute(text(statement), params)

    start = dt.datetime.combine(config.first_day, dt.time(0), tzinfo=dt.UTC)
    n_w = len(master.warehouses)
    wcodes = master.warehouses["warehouse"].to_list()
    icodes = master.items["item"].to_list()
    item_pos = {c: k for k, c in enumerate(icodes)}
    ccodes = master.customers["customer"].to_list()
    cust_region = master.customers["region"].to_list()
    cust_ll = master.customers.select("lat", "lon").to_numpy()
    wh_ll = master.warehouses.select("lat", "lon").to_numpy()
    master.items["unit_weight_kg"].to_numpy()
    np.isin(master.items["temperature_class"].to_numpy(), ["chilled", "frozen"])
    shelf = master.items["shelf_life_days"].to_list()
    ret_rate = np.array([CATEGORIES[c]["ret"] for c in master.items["category"].to_list()])
    sup_of_item = master.items["supplier"].to_list()
    lane = {
        (r["carrier"], r["service"], r["origin_warehouse"], r["destination_region"]): (
            r["mean_transit_days"],
            r["sd_transit_days"],
        )
        for r in master.lane_transit.iter_rows(named=True)
    }
    stats: dict[str, int] = defaultdict(int)

    # Scheduled work: day -> [(time, kind, payload)].
    agenda: dict[int, list[tuple[dt.datetime, int, str, Any]]] = defaultdict(list)
    seq = iter(range(1 << 62))

    def at_day(when: dt.datetime) -> int:
        return (when - start).days

    def schedule(when: dt.datetime, kind: str, payload: Any) -> None:
        agenda[at_day(when)].append((when, next(seq), kind, payload))

    with engine.connect() as conn:
        if history.open_po_arrivals:
            rows = conn.execute(
                text(
                    "select pol.id, pol.purchase_order_id, i.code, pol.quantity_ordered - pol.quantity_received "
                    "from purchase_order_lines pol join items i on i.id = pol.item_id where pol.id = any(:ids) "
                    "order by pol.id"
                ),
                {"ids": sorted(history.open_po_arrivals)},
            ).all()
            by_receipt: dict[tuple[int, int], list[tuple[str, int]]] = defaultdict(list)
            for pol_id, po_id, code, qty in rows:
                by_receipt[(po_id, max(first_day, history.open_po_arrivals[pol_id]))].append((code, int(qty)))
            for (po_id, day), items in sorted(by_receipt.items()):
                when = start + dt.timedelta(days=day, minutes=int(rng.integers(6 * 60, 11 * 60)))
                schedule(when, "receive", (po_id, items))
        for sid, deliver_at in sorted(history.in_transit.items()):
            ofd = deliver_at - dt.timedelta(hours=float(rng.uniform(2, 4)))
            boundary = start + dt.timedelta(days=first_day)
            if ofd > boundary:
                schedule(ofd, "track", (sid, "out_for_delivery", None, None, f"S{sid}-OFD"))
            schedule(
                max(deliver_at, boundary + dt.timedelta(hours=8)),
                "track",
                (sid, "delivered", None, None, f"S{sid}-DLV"),
            )
        ids_item: dict[str, int] = {
            r[0]: r[1] for r in conn.execute(text("select code, id from items")).all()
        }
        ids_wh: dict[str, int] = {
            r[0]: r[1] for r in conn.execute(text("select code, id from warehouses")).all()
        }
    item_of_id = {v: item_pos[k] for k, v in ids_item.items() if k in item_pos}
    wh_of_id = {v: wcodes.index(k) for k, v in ids_wh.items() if k in wcodes}

    tail = lines.with_row_index("line_row").filter(pl.col("day") >= first_day)
    orders_by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for key, grp in tail.group_by("order_key", maintain_order=True):
        g = grp.to_dicts()
        orders_by_day[g[0]["day"]].append(
            {
                "key": key[0],
                "minute": g[0]["minute"],
                "warehouse_idx": g[0]["warehouse_idx"],
                "customer_idx": g[0]["customer_idx"],
                "channel": g[0]["channel"],
                "lines": [
                    {
                        "item": icodes[x["item_idx"]],
                        "quantity": int(x["quantity"]),
                        "unit_price": round(float(x["unit_price"]), 2),
                        "is_promo": bool(x["is_promo"]),
                    }
                    for x in g
                ],
            }
        )
    shipped_lines: dict[int, list[tuple[int, str, int]]] = {}
    cust_code: dict[int, str] = {}
    cpos = {c: k for k, c in enumerate(ccodes)}
    order_channel: dict[int, str] = {}
    order_cust: dict[int, int] = {}

    on_hand_sql = (
        "select item_id, warehouse_id, sum(on_hand - reserved) from inventory_balances group by 1, 2"
    )
    s_pt, big_s = flow.policy_s, flow.policy_big_s
    moq = np.repeat(master.items["min_order_qty"].to_numpy(), n_w)
    mult = np.repeat(master.items["order_multiple"].to_numpy(), n_w)

    def place(o: dict[str, Any], day: int) -> None:
        when = start + dt.timedelta(days=day, minutes=int(o["minute"]), seconds=int(rng.integers(0, 60)))
        chan = o["channel"]
        res = tx(
            place_order,
            customer=ccodes[o["customer_idx"]],
            lines=o["lines"],
            warehouse=wcodes[o["warehouse_idx"]],
            channel=chan,
            priority=2 if chan == "b2b" else (4 if chan in ("marketplace", "api") else 3),
            promised_date=(when + dt.timedelta(days=3 if chan in BACKORDER_CHANNELS else 2)).date(),
            ordered_at=when,
        )
        stats["orders"] += 1
        order_channel[res.id] = chan
        order_cust[res.id] = o["customer_idx"]
        short = [ln for ln in res.lines if ln.backordered_quantity > 0]
        stats["stockout_cell_days"] += len(short)
        if short and chan not in BACKORDER_CHANNELS and all(ln.allocated_quantity == 0 for ln in res.lines):
            # Consumers who find nothing in stock buy elsewhere: a lost sale.
            tx(
                cancel_order,
                order_id=res.id,
                reason="lost sale: out of stock",
                cancelled_at=when + dt.timedelta(minutes=1),
            )
            stats["lost_orders"] += 1

    def ship_picked(day: int) -> None:
        rows = sql(
            """
                select l.order_id, w.code, o.channel, o.customer_id,
                       sum(r.quantity_picked * i.unit_weight_kg) as kg,
                       bool_or(i.temperature_class in ('chilled', 'frozen')) as cold
                from reservations r
                join order_lines l on l.id = r.order_line_id
                join orders o on o.id = l.order_id
                join inventory_balances b on b.id = r.balance_id
                join warehouses w on w.id = b.warehouse_id
                join items i on i.id = b.item_id
                where r.status = 'active' and r.quantity_picked > 0 and o.status not in ('cancelled', 'delivered')
                group by 1, 2, 3, 4 order by 1, 2
                """
        ).all()
        if not cust_code:
            cust_code.update(sql("select id, code from customers").all())
        for order_id, wcode, chan, cust_id, kg, is_cold in rows:
            carrier, service = choose_service(bool(is_cold), float(kg), chan, float(rng.random()))
            when = start + dt.timedelta(days=day, minutes=int(rng.integers(16 * 60 + 30, 19 * 60 + 30)))
            res = tx(
                ship, order_id=order_id, carrier=carrier, service=service, shipped_at=when, warehouse=wcode
            )
            stats["shipments"] += 1
            ci = cpos.get(cust_code.get(cust_id), 0)
            region = cust_region[ci]
            mean, sd = lane.get((carrier, service, wcode, region), (3.0, 1.0))
            sigma = np.sqrt(np.log1p((sd / mean) ** 2))
            transit = float(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma))
            delayed = rng.random() < 0.04
            if delayed:
                transit += float(rng.uniform(1, 3))
            arrive = when + dt.timedelta(days=transit)
            if arrive.hour < 8:
                arrive = arrive.replace(hour=8)
            elif arrive.hour >= 19:
                arrive = (arrive + dt.timedelta(days=1)).replace(hour=8)
            arrive = max(arrive, when + dt.timedelta(hours=3))
            span = arrive - when
            w_ll = wh_ll[wcodes.index(wcode)]
            c_ll = cust_ll[ci]
            # The live tail records the scans that drive status and ETA (hub arrival, delay, out for delivery,
            # delivery); the bulk history also has the departure scan. Fewer service calls keep the tail fast.
            plan_events = [("arrived_at_hub", span * 0.45, 0.5, f"Hub {region}")]
            if delayed:
                plan_events.append(("delayed", span * 0.6, 0.5, f"Hub {region}"))
            plan_events += [
                ("out_for_delivery", max(span * 0.8, span - dt.timedelta(hours=4)), 0.9, region),
                ("delivered", span, 1.0, region),
            ]
            for k, (etype, off, f, loc) in enumerate(plan_events):
                lat = float(w_ll[0] + (c_ll[0] - w_ll[0]) * f)
                lon = float(w_ll[1] + (c_ll[1] - w_ll[1]) * f)
                schedule(
                    when + off,
                    "track",
                    (res.id, etype, (round(lat, 4), round(lon, 4)), loc, f"S{res.id}-{k}"),
                )

    def track(when: dt.datetime, payload: tuple) -> None:
        sid, etype, ll, loc, ext = payload
        tx(
            record_tracking_event,
            event_type=etype,
            occurred_at=when,
            shipment_id=sid,
            location_text=loc,
            lat=ll[0] if ll else None,
            lon=ll[1] if ll else None,
            external_id=f"SVC-{ext}",
        )
        stats["tracking_events"] += 1
        if etype == "delivered":
            rows = shipped_lines.pop(sid, None)
            if rows is None:  # shipped in the bulk history
                rows = sql(
                    "select s.order_id, i.code, sl.quantity from shipment_lines sl join shipments s "
                    "on s.id = sl.shipment_id join items i on i.id = sl.item_id where s.id = :s order by sl.id",
                    s=sid,
                ).all()
            for order_id, code, qty in rows:
                if rng.random() < ret_rate[item_pos.get(code, 0)] and order_id is not None:
                    back = when + dt.timedelta(days=float(rng.uniform(3, 30)))
                    q = max(1, int(qty * rng.uniform(0.2, 1.0)))
                    disp = "restock" if rng.random() < 0.65 else "scrap"
                    schedule(back, "return", (order_id, code, q, disp))

    def replenish(day: int) -> None:
        when = start + dt.timedelta(days=day, hours=17, minutes=30)
        avail = np.zeros(len(icodes) * n_w, dtype=np.int64)
        for item_id, wid, qty in sql(on_hand_sql).all():
            if item_id in item_of_id and wid in wh_of_id:
                avail[item_of_id[item_id] * n_w + wh_of_id[wid]] += int(qty)
        for item_id, wid, qty in sql(
            "select l.item_id, po.warehouse_id, sum(l.quantity_ordered - l.quantity_received) "
            "from purchase_order_lines l join purchase_orders po on po.id = l.purchase_order_id "
            "where po.status in ('open', 'partially_received') group by 1, 2"
        ).all():
            if item_id in item_of_id and wid in wh_of_id:
                avail[item_of_id[item_id] * n_w + wh_of_id[wid]] += int(qty)
        for item_id, wid, qty in sql(
            "select l.item_id, o.warehouse_id, sum(l.quantity_backordered) from order_lines l "
            "join orders o on o.id = l.order_id where l.quantity_backordered > 0 "
            "and o.status not in ('cancelled', 'delivered') group by 1, 2"
        ).all():
            if item_id in item_of_id and wid in wh_of_id:
                avail[item_of_id[item_id] * n_w + wh_of_id[wid]] -= int(qty)
        need = order_up_to(avail, s_pt, big_s, moq, mult)
        groups: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
        for cell in np.flatnonzero(need > 0):
            i, w = divmod(int(cell), n_w)
            groups[(sup_of_item[i], w)].append((i, int(need[cell])))
        for (sup, w), items in sorted(groups.items()):
            cells = np.array([i * n_w + w for i, _ in items])
            m, sd = flow.lead_time_mean[cells].max(), flow.lead_time_sd[cells].max()
            lt = float(rng.gamma((m / sd) ** 2, sd**2 / m))
            po = tx(
                create_purchase_order,
                supplier=sup,
                warehouse=wcodes[w],
                lines=[{"item": icodes[i], "quantity": qty} for i, qty in items],
                source="simulator",
                ordered_at=when,
                expected_at=when + dt.timedelta(days=float(m)),
            )
            stats["purchase_orders"] += 1
            arrive = when + dt.timedelta(days=max(1, int(np.ceil(lt))))
            arrive = arrive.replace(hour=int(rng.integers(6, 11)), minute=int(rng.integers(0, 60)))
            schedule(arrive, "receive", (po["id"], [(icodes[i], qty) for i, qty in items]))

    start_dow = int((plan.dates[0].astype(np.int64) + 3) % 7)
    cells_all = [(i, w) for i in range(len(icodes)) for w in range(n_w)]

    def _run_day(day: int) -> None:
        day0 = start + dt.timedelta(days=day)
        weekday = (day + start_dow) % 7
        todays = sorted(orders_by_day.get(day, []), key=lambda o: (o["minute"], o["key"]))
        received = False
        # Morning: receipts and events due before noon, in time order.
        noon = day0 + dt.timedelta(hours=12)

        def run_agenda(until: dt.datetime, day: int = day) -> None:
            nonlocal received
            while True:
                due = sorted(x for x in agenda[day] if x[0] < until)
                if not due:
                    return
                for item in due:
                    agenda[day].remove(item)
                for when, _, kind, payload in due:
                    if kind == "receive":
                        po_id, items = payload
                        recv_lines = []
                        for code, qty in items:
                            ln: dict[str, Any] = {"item": code, "quantity": qty}
                            sl = shelf[item_pos[code]]
                            if sl:
                                ln["lot_code"] = f"L{when:%Y%m%d}-{po_id}"
                                ln["expiry_date"] = (when + dt.timedelta(days=int(sl))).date()
                            recv_lines.append(ln)
                        try:
                            tx(receive_purchase_order, po_id=po_id, lines=recv_lines, received_at=when)
                            stats["receipts"] += 1
                            received = True
                        except ConflictError:
                            pass  # already fully received
                    elif kind == "track":
                        try:
                            track(when, payload)
                        except ConflictError:
                            pass
                    elif kind == "return":
                        order_id, code, qty, disp = payload
                        tx(
                            receive_return,
                            order_id=order_id,
                            lines=[{"item": code, "quantity": qty, "disposition": disp}],
                            received_at=when,
                            reason="customer return",
                        )
                        stats["returns"] += 1

        run_agenda(day0 + dt.timedelta(hours=8, minutes=30))
        if received:
            # Backorders waiting for this stock (retail/B2B orders that have not shipped yet).
            waiting = (
                sql(
                    "select distinct o.id from orders o join order_lines l on l.order_id = o.id "
                    "where l.quantity_backordered > 0 and o.status in ('backordered', 'partially_allocated', "
                    "'allocated') and o.channel in ('retail', 'b2b') order by o.id"
                )
                .scalars()
                .all()
            )
            for oid in waiting:
                tx(allocate, order_id=oid, allocated_at=day0 + dt.timedelta(hours=8, minutes=45))
        for o in [o for o in todays if o["minute"] < SHIP_CUTOFF_MINUTE]:
            run_agenda(start + dt.timedelta(days=day, minutes=int(o["minute"])))
            place(o, day)
        run_agenda(noon + dt.timedelta(hours=1))
        if weekday != 6:
            for w in wcodes:
                wave = tx(release_wave, warehouse=w, released_at=day0 + dt.timedelta(hours=13))
                if wave is None:
                    continue
                for k, task in enumerate(wave.tasks):
                    qty = task.quantity
                    if qty > 1 and rng.random() < 0.003:
                        qty -= 1  # the odd short pick
                    tx(
                        confirm_pick,
                        task_id=task.id,
                        quantity=qty,
                        picked_at=day0 + dt.timedelta(hours=13, minutes=5, seconds=20 * k),
                    )
            ship_picked(day)
        for o in [o for o in todays if o["minute"] >= SHIP_CUTOFF_MINUTE]:
            run_agenda(start + dt.timedelta(days=day, minutes=int(o["minute"])))
            place(o, day)
        if weekday < 5:
            for idx in rng.choice(len(cells_all), size=min(3, len(cells_all)), replace=False):
                i, w = cells_all[int(idx)]
                row = sql(
                    "select loc.code, b.on_hand, b.reserved from inventory_balances b join locations loc "
                    "on loc.id = b.location_id where b.item_id = :i and b.warehouse_id = :w and b.lot_id is null "
                    "order by b.id limit 1",
                    i=ids_item[icodes[i]],
                    w=ids_wh[wcodes[w]],
                ).first()
                if row is None:
                    continue
                counted = max(int(row.reserved), int(row.on_hand) + int(np.rint(rng.normal(-0.3, 1.0))))
                tx(
                    cycle_count,
                    location=row.code,
                    item=icodes[i],
                    counted_quantity=counted,
                    warehouse=wcodes[w],
                    counted_at=day0 + dt.timedelta(hours=16, minutes=int(rng.integers(0, 60))),
                )
                stats["cycle_counts"] += 1
            replenish(day)
        run_agenda(day0 + dt.timedelta(days=1))

    for day in range(first_day, config.days):
        with maker() as session, session.begin():
            current["s"] = session
            _run_day(day)
        if progress is not None:
            progress(1)
    engine.dispose()
    return dict(stats)
