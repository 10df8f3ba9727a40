"""Master data of a simulated company: warehouses, zones, locations, dock doors, suppliers, items, customers,
carriers, services and lane rates.

Pure functions of the config and a numpy ``Generator``: frames (polars) keyed by business codes, plus the arrays
the demand and flow models need. Nothing here touches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from oltp.simulator.config import SimulationConfig

__all__ = ["MasterData", "CATEGORIES", "REGIONS", "WAREHOUSE_SITES", "build_master", "haversine_km"]

# code, name, lat, lon (real logistics hubs; Europe first, then the US).
WAREHOUSE_SITES: list[tuple[str, str, float, float]] = [
    ("WH-RTM", "Rotterdam Maasvlakte DC", 51.95, 4.05),
    ("WH-LYS", "Lyon Saint-Priest DC", 45.70, 4.95),
    ("WH-POZ", "Poznan Komorniki DC", 52.34, 16.81),
    ("WH-MAD", "Madrid Coslada DC", 40.43, -3.56),
    ("WH-MIL", "Milan Piacenza DC", 45.05, 9.69),
    ("WH-MEM", "Memphis Airways DC", 35.04, -89.98),
    ("WH-CMH", "Columbus Rickenbacker DC", 39.81, -82.93),
    ("WH-RNO", "Reno Tahoe DC", 39.53, -119.81),
]

# region code, lat, lon, relative population weight.
REGIONS: list[tuple[str, float, float, float]] = [
    ("NL-RANDSTAD", 52.20, 4.60, 1.2),
    ("BE-FLANDERS", 51.05, 4.00, 0.8),
    ("DE-RUHR", 51.45, 7.20, 1.5),
    ("DE-BERLIN", 52.52, 13.40, 0.9),
    ("DE-MUNICH", 48.14, 11.58, 0.8),
    ("UK-LONDON", 51.50, -0.12, 1.4),
    ("FR-PARIS", 48.86, 2.35, 1.6),
    ("FR-LYON", 45.76, 4.84, 0.7),
    ("FR-MARSEILLE", 43.30, 5.37, 0.6),
    ("CH-ZURICH", 47.37, 8.54, 0.5),
    ("PL-WARSAW", 52.23, 21.01, 0.9),
    ("PL-POZNAN", 52.41, 16.93, 0.5),
    ("CZ-PRAGUE", 50.08, 14.44, 0.6),
    ("ES-MADRID", 40.42, -3.70, 1.1),
    ("ES-BARCELONA", 41.39, 2.17, 1.0),
    ("PT-LISBON", 38.72, -9.14, 0.5),
    ("IT-MILAN", 45.46, 9.19, 1.1),
    ("IT-ROME", 41.90, 12.50, 0.9),
    ("US-NORTHEAST", 40.71, -74.01, 1.8),
    ("US-MIDWEST", 41.88, -87.63, 1.3),
    ("US-SOUTHEAST", 33.75, -84.39, 1.2),
    ("US-TEXAS", 32.78, -96.80, 1.2),
    ("US-WEST", 34.05, -118.24, 1.6),
    ("US-NORTHWEST", 47.61, -122.33, 0.7),
]

# category -> family list, temperature class, (price lo, hi), shelf life range (None = not perishable),
# hazmat share, serialised share, weekly profile (Mon..Sun), yearly amplitude, yearly peak day-of-year,
# mean quantity per order line, return rate.
CATEGORIES: dict[str, dict] = {
    "fresh": {
        "families": ["dairy", "deli", "produce"],
        "temp": "chilled",
        "price": (1.5, 12),
        "shelf": (7, 30),
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [0.9, 0.85, 0.9, 1.0, 1.25, 1.35, 0.75],
        "amp": 0.10,
        "peak": 355,
        "qty": 3.0,
        "ret": 0.005,
    },
    "frozen": {
        "families": ["ice_cream", "ready_meals", "frozen_veg"],
        "temp": "frozen",
        "price": (2, 18),
        "shelf": (180, 540),
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [0.9, 0.9, 0.95, 1.0, 1.2, 1.3, 0.75],
        "amp": 0.35,
        "peak": 200,
        "qty": 2.5,
        "ret": 0.005,
    },
    "beverages": {
        "families": ["water", "soft_drinks", "juice"],
        "temp": "ambient",
        "price": (0.8, 9),
        "shelf": (180, 720),
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [0.95, 0.9, 0.9, 1.0, 1.2, 1.3, 0.75],
        "amp": 0.30,
        "peak": 195,
        "qty": 4.0,
        "ret": 0.01,
    },
    "household": {
        "families": ["cleaning", "paper", "kitchen"],
        "temp": "ambient",
        "price": (2, 40),
        "shelf": None,
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [1.1, 1.05, 1.0, 1.0, 1.0, 1.0, 0.85],
        "amp": 0.05,
        "peak": 90,
        "qty": 2.0,
        "ret": 0.02,
    },
    "garden": {
        "families": ["tools", "seeds", "furniture"],
        "temp": "ambient",
        "price": (5, 250),
        "shelf": None,
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [0.9, 0.85, 0.85, 0.9, 1.05, 1.4, 1.0],
        "amp": 0.70,
        "peak": 120,
        "qty": 1.5,
        "ret": 0.04,
    },
    "electronics": {
        "families": ["audio", "computing", "phones"],
        "temp": "ambient",
        "price": (15, 900),
        "shelf": None,
        "hazmat": 0.0,
        "serial": 0.6,
        "weekly": [1.05, 1.0, 1.0, 1.0, 1.05, 1.0, 0.9],
        "amp": 0.45,
        "peak": 340,
        "qty": 1.1,
        "ret": 0.07,
    },
    "apparel": {
        "families": ["outerwear", "footwear", "basics"],
        "temp": "ambient",
        "price": (8, 180),
        "shelf": None,
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [1.15, 1.05, 1.0, 0.95, 0.95, 0.95, 0.95],
        "amp": 0.30,
        "peak": 300,
        "qty": 1.3,
        "ret": 0.15,
    },
    "toys": {
        "families": ["games", "plush", "outdoor_toys"],
        "temp": "ambient",
        "price": (5, 120),
        "shelf": None,
        "hazmat": 0.0,
        "serial": 0.0,
        "weekly": [1.0, 0.95, 0.95, 1.0, 1.05, 1.1, 0.95],
        "amp": 0.80,
        "peak": 345,
        "qty": 1.4,
        "ret": 0.05,
    },
    "chemicals": {
        "families": ["solvents", "aerosols", "batteries"],
        "temp": "hazmat",
        "price": (4, 80),
        "shelf": (365, 1095),
        "hazmat": 1.0,
        "serial": 0.0,
        "weekly": [1.2, 1.15, 1.1, 1.1, 1.05, 0.3, 0.1],
        "amp": 0.10,
        "peak": 100,
        "qty": 3.5,
        "ret": 0.01,
    },
    "pharma": {
        "families": ["vaccines", "biologics", "otc"],
        "temp": "chilled",
        "price": (10, 400),
        "shelf": (60, 365),
        "hazmat": 0.0,
        "serial": 0.8,
        "weekly": [1.2, 1.15, 1.1, 1.1, 1.05, 0.3, 0.1],
        "amp": 0.30,
        "peak": 20,
        "qty": 2.0,
        "ret": 0.005,
    },
}

ZONE_TEMPS = {
    "ambient": (12.0, 25.0),
    "chilled": (2.0, 8.0),
    "frozen": (-25.0, -18.0),
    "hazmat": (10.0, 25.0),
}

# carrier code, name, services: (service code, mode, promised days, speed factor, base rate, per kg, reliability)
CARRIERS: list[tuple[str, str, list[tuple[str, str, int, float, float, float, float]]]] = [
    (
        "DHLX",
        "DHL Express",
        [("EXP", "parcel", 1, 0.55, 9.0, 0.90, 0.95), ("STD", "parcel", 3, 1.0, 5.5, 0.45, 0.92)],
    ),
    (
        "UPSC",
        "UPS",
        [("EXP", "parcel", 1, 0.6, 8.5, 0.85, 0.94), ("STD", "parcel", 3, 1.05, 5.0, 0.42, 0.90)],
    ),
    (
        "DBSC",
        "DB Schenker",
        [("LTL", "ltl", 3, 1.2, 45.0, 0.12, 0.88), ("FTL", "ftl", 2, 0.9, 380.0, 0.02, 0.93)],
    ),
    ("KNFR", "Kuehne+Nagel Frigo", [("REEF", "reefer", 2, 0.9, 60.0, 0.20, 0.91)]),
    ("POST", "PostNL Parcels", [("ECO", "parcel", 4, 1.4, 3.9, 0.30, 0.85)]),
]


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (broadcasting).

    Args:
        lat1: Latitudes of the first points, degrees.
        lon1: Longitudes of the first points, degrees.
        lat2: Latitudes of the second points, degrees.
        lon2: Longitudes of the second points, degrees.

    Returns:
        Distances in km.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


@dataclass
class MasterData:
    """Master data frames (business codes, no database ids) and the arrays the flow model uses."""

    warehouses: pl.DataFrame
    zones: pl.DataFrame
    locations: pl.DataFrame
    dock_doors: pl.DataFrame
    suppliers: pl.DataFrame
    items: pl.DataFrame
    customers: pl.DataFrame
    carriers: pl.DataFrame
    services: pl.DataFrame
    lane_rates: pl.DataFrame
    lane_transit: pl.DataFrame
    # item x warehouse -> index into ``locations`` of the item's pick face.
    pick_face: np.ndarray
    # region -> warehouse index serving it.
    region_warehouse: dict[str, int]


def _warehouses(n: int, rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for i in range(n):
        if i < len(WAREHOUSE_SITES):
            code, name, lat, lon = WAREHOUSE_SITES[i]
        else:
            # Beyond the named sites: a DC near a region centre (deterministic jitter).
            reg = REGIONS[i % len(REGIONS)]
            code, name = f"WH-{i + 1:03d}", f"{reg[0].title()} DC {i + 1}"
            lat, lon = reg[1] + rng.uniform(-0.4, 0.4), reg[2] + rng.uniform(-0.4, 0.4)
        rows.append(
            {
                "warehouse": code,
                "name": name,
                "lat": round(lat, 5),
                "lon": round(lon, 5),
                "region": None,
                "storage_capacity_m3": float(rng.integers(20, 80) * 1000),
                "throughput_capacity_units_per_day": float(rng.integers(8, 30) * 1000),
            }
        )
    return pl.DataFrame(rows)


def _region_assignment(wh: pl.DataFrame) -> dict[str, int]:
    wlat, wlon = wh["lat"].to_numpy(), wh["lon"].to_numpy()
    rlat = np.array([r[1] for r in REGIONS])
    rlon = np.array([r[2] for r in REGIONS])
    dist = haversine_km(rlat[:, None], rlon[:, None], wlat[None, :], wlon[None, :])
    nearest = dist.argmin(axis=1)
    served = {REGIONS[r][0]: int(nearest[r]) for r in range(len(REGIONS)) if dist[r, nearest[r]] < 1400}
    # Every warehouse serves at least its nearest region (a lone US DC still has customers).
    for w in range(len(wh)):
        if w not in served.values():
            served[REGIONS[int(dist[:, w].argmin())][0]] = w
    return dict(sorted(served.items()))


def build_master(config: SimulationConfig, rng: np.random.Generator) -> MasterData:
    """Generate the master data of a simulated company.

    Args:
        config: The run configuration (sizes).
        rng: The generator to draw from (consumed deterministically).

    Returns:
        The master data.
    """
    wh = _warehouses(config.warehouses, rng)
    region_wh = _region_assignment(wh)
    wh = wh.with_columns(
        pl.Series("region", [next((r for r, w in region_wh.items() if w == i), None) for i in range(len(wh))])
    )

    # Suppliers: a few per category family group; lead times 3..25 days with realistic spread.
    n_sup = max(4, min(40, config.skus // 12))
    lt_mean = np.round(rng.gamma(4.0, 2.5, n_sup) + 2.0, 1)
    suppliers = pl.DataFrame(
        {
            "supplier": [f"SUP-{i + 1:03d}" for i in range(n_sup)],
            "name": [f"Supplier {i + 1:03d}" for i in range(n_sup)],
            "lead_time_mean_days": lt_mean,
            "lead_time_sd_days": np.round(lt_mean * rng.uniform(0.1, 0.45, n_sup), 2),
            "capacity_units_per_week": np.round(rng.uniform(2e3, 5e4, n_sup), 0),
        }
    )

    # Items.
    cats = list(CATEGORIES)
    cat_weights = np.array([1.2, 0.6, 1.0, 1.3, 0.7, 1.0, 1.2, 0.8, 0.5, 0.4])
    n = config.skus
    cat_idx = rng.choice(len(cats), size=n, p=cat_weights / cat_weights.sum())
    rows = []
    for i in range(n):
        c = CATEGORIES[cats[cat_idx[i]]]
        fam = c["families"][int(rng.integers(len(c["families"])))]
        lo, hi = c["price"]
        price = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        cost = price * rng.uniform(0.45, 0.75)
        size = np.exp(rng.normal(np.log(15), 0.55, 3)).clip(2, 120)
        density = rng.uniform(0.15, 0.9)  # kg per litre
        weight = float(size.prod() / 1000 * density)
        shelf = None if c["shelf"] is None else int(rng.integers(c["shelf"][0], c["shelf"][1] + 1))
        moq = int(rng.choice([1, 6, 12, 24, 48])) if price < 30 else int(rng.choice([1, 2, 5]))
        rows.append(
            {
                "item": f"SKU-{i + 1:05d}",
                "name": f"{fam.replace('_', ' ').title()} {i + 1:05d}",
                "category": cats[cat_idx[i]],
                "family": fam,
                "unit_length_cm": round(float(size[0]), 1),
                "unit_width_cm": round(float(size[1]), 1),
                "unit_height_cm": round(float(size[2]), 1),
                "unit_weight_kg": round(max(weight, 0.02), 3),
                "unit_cost": round(cost, 2),
                "list_price": round(price, 2),
                "shelf_life_days": shelf,
                "temperature_class": c["temp"],
                "is_hazmat": bool(rng.random() < c["hazmat"]),
                "is_serialised": bool(rng.random() < c["serial"]),
                "supplier": f"SUP-{int(rng.integers(n_sup)) + 1:03d}",
                "min_order_qty": moq,
                "order_multiple": moq if moq > 1 and rng.random() < 0.5 else 1,
            }
        )
    items = pl.DataFrame(rows, schema_overrides={"shelf_life_days": pl.Int64})

    # Zones and locations: per warehouse, one zone per temperature class; pick faces for every item of the
    # class plus spare, reserve racking above. Items are slotted randomly so slotting has room to improve.
    zone_rows, loc_rows, door_rows = [], [], []
    pick_face = np.zeros((n, len(wh)), dtype=np.int64)
    temps = items["temperature_class"].to_numpy()
    for w, wcode in enumerate(wh["warehouse"].to_list()):
        for z, tclass in enumerate(("ambient", "chilled", "frozen", "hazmat")):
            zcode = f"Z{z + 1}-{tclass[:3].upper()}"
            tmin, tmax = ZONE_TEMPS[tclass]
            zone_rows.append(
                {
                    "warehouse": wcode,
                    "zone": zcode,
                    "temperature_class": tclass,
                    "min_temp_c": tmin,
                    "max_temp_c": tmax,
                }
            )
            members = np.flatnonzero(temps == tclass)
            n_pick = int(len(members) * 1.2) + 4
            bays_per_aisle = 20
            slots = []
            for k in range(n_pick * 2):
                pick = k < n_pick
                j = k if pick else k - n_pick
                aisle = z * 10 + j // (bays_per_aisle * 2) + 1
                bay = (j // 2) % bays_per_aisle + 1
                level = (j % 2) + 1 if pick else (j % 3) + 3
                code = f"{zcode[:2]}-{aisle:02d}-{bay:02d}-{level}{'P' if pick else 'R'}"
                loc_rows.append(
                    {
                        "warehouse": wcode,
                        "zone": zcode,
                        "location": code,
                        "aisle": aisle,
                        "bay": bay,
                        "level": level,
                        "x": round(aisle * 3.6, 2),
                        "y": round(bay * 1.3, 2),
                        "z": round((level - 1) * 1.6, 2),
                        "volume_capacity_m3": 1.2 if pick else 2.4,
                        "weight_capacity_kg": 500.0 if pick else 1200.0,
                        "location_type": "pick_face" if pick else "reserve",
                    }
                )
                if pick:
                    slots.append(len(loc_rows) - 1)
            order = rng.permutation(len(slots))[: len(members)]
            pick_face[members, w] = np.array(slots, dtype=np.int64)[order] if len(members) else []
        for d in range(6):
            door_rows.append(
                {
                    "warehouse": wcode,
                    "door": f"D{d + 1:02d}",
                    "door_type": "inbound" if d < 2 else ("outbound" if d < 5 else "both"),
                    "is_reefer": d in (1, 4),
                }
            )
    zones = pl.DataFrame(zone_rows)
    locations = pl.DataFrame(loc_rows)
    dock_doors = pl.DataFrame(door_rows)

    # Customers spread around the regions their warehouses serve.
    n_cust = config.customers or int(max(50, min(20000, config.lines_per_day * 4)))
    reg_codes = list(region_wh)
    reg_info = {r[0]: r for r in REGIONS}
    weights = np.array([reg_info[r][3] for r in reg_codes])
    cust_reg = rng.choice(len(reg_codes), size=n_cust, p=weights / weights.sum())
    lat = np.array([reg_info[reg_codes[r]][1] for r in cust_reg]) + rng.normal(0, 0.35, n_cust)
    lon = np.array([reg_info[reg_codes[r]][2] for r in cust_reg]) + rng.normal(0, 0.5, n_cust)
    b2b = rng.random(n_cust) < 0.15
    customers = pl.DataFrame(
        {
            "customer": [f"CUST-{i + 1:06d}" for i in range(n_cust)],
            "name": [f"{'Store' if b else 'Customer'} {i + 1:06d}" for i, b in enumerate(b2b)],
            "region": [reg_codes[r] for r in cust_reg],
            "lat": np.round(lat.clip(-89, 89), 5),
            "lon": np.round(lon, 5),
            "is_b2b": b2b,
        }
    )

    # Carriers, services, lane rates and the true transit distribution per lane.
    carriers = pl.DataFrame({"carrier": [c[0] for c in CARRIERS], "name": [c[1] for c in CARRIERS]})
    svc_rows, lane_rows, truth_rows = [], [], []
    wlat, wlon = wh["lat"].to_numpy(), wh["lon"].to_numpy()
    for ccode, _, services in CARRIERS:
        for scode, mode, promised, speed, base, per_kg, reliability in services:
            svc_rows.append(
                {"carrier": ccode, "service": scode, "mode": mode, "promised_transit_days": promised}
            )
            for w, wcode in enumerate(wh["warehouse"].to_list()):
                for rcode in reg_codes:
                    r = reg_info[rcode]
                    km = float(haversine_km(wlat[w], wlon[w], np.asarray(r[1]), np.asarray(r[2])))
                    if km > 2500 and region_wh[rcode] != w:
                        continue  # no transatlantic road lanes
                    days = promised + (km / 700.0) * speed
                    lane_days = max(promised, int(math.ceil(days - 0.35)))
                    rel_target = float(np.clip(reliability - km / 20000 + rng.normal(0, 0.02), 0.6, 0.99))
                    lane_rows.append(
                        {
                            "carrier": ccode,
                            "service": scode,
                            "origin_warehouse": wcode,
                            "destination_region": rcode,
                            "base_rate": round(base * (1 + km / 3000), 2),
                            "rate_per_kg": round(per_kg * (1 + km / 4000), 3),
                            "transit_days": lane_days,
                        }
                    )
                    # True transit: lognormal around the lane's days; sd grows with distance and unreliability.
                    # reliability = P(transit <= the lane's quoted days), from the lognormal itself.
                    mean = max(0.6, days * rng.uniform(0.85, 1.05))
                    sd = mean * (0.12 + (1 - rel_target) * 1.2)
                    sigma = math.sqrt(math.log(1 + (sd / mean) ** 2))
                    mu = math.log(mean) - sigma**2 / 2
                    rel = 0.5 * (1 + math.erf((math.log(lane_days + 0.25) - mu) / (sigma * math.sqrt(2))))
                    truth_rows.append(
                        {
                            "carrier": ccode,
                            "service": scode,
                            "origin_warehouse": wcode,
                            "destination_region": rcode,
                            "distribution": "lognormal",
                            "mean_transit_days": round(mean, 4),
                            "sd_transit_days": round(sd, 4),
                            "reliability": round(rel, 4),
                        }
                    )
    return MasterData(
        warehouses=wh,
        zones=zones,
        locations=locations,
        dock_doors=dock_doors,
        suppliers=suppliers,
        items=items,
        customers=customers,
        carriers=carriers,
        services=pl.DataFrame(svc_rows),
        lane_rates=pl.DataFrame(lane_rows),
        lane_transit=pl.DataFrame(truth_rows),
        pick_face=pick_face,
        region_warehouse=region_wh,
    )
