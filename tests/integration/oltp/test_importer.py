"""``stockyard import`` against real PostgreSQL: every kind, rejects, references, idempotency, CLI exit codes."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import psycopg
import pytest
from typer.testing import CliRunner

from oltp.importer import KINDS, import_file
from stockyard.cli import app
from stockyard.errors import ValidationError
from stockyard.settings import Settings


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


@pytest.fixture
def settings(tmp_path: Path, pg_uri: str) -> Settings:
    return Settings(home=tmp_path / "home", pg_dsn=pg_uri)


def _q(uri: str, sql: str) -> list[tuple]:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql).fetchall()


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _master(tmp_path: Path, settings: Settings) -> None:
    files = {
        "warehouses": "warehouse,name,lat,lon,region\nW1,North,52.1,5.2,NL\nW2,South,45.7,4.9,FR",
        "suppliers": "supplier,name,lead_time_mean_days,lead_time_sd_days\nS1,Acme,7,2",
        "items": "item,name,category,unit_weight_kg,list_price,supplier,temperature_class\n"
        "I1,Widget,tools,1.5,10,S1,ambient\nI2,Peas,frozen,0.5,2.5,,frozen",
        "customers": "customer,lat,lon,region\nC1,52.3,4.9,NL",
        "carriers": "carrier,name,service,mode,promised_transit_days,origin_warehouse,destination_region,base_rate,"
        "rate_per_kg\nCX,Carrier X,STD,parcel,2,W1,NL,5,0.4\nCX,Carrier X,EXP,parcel,1,,,,",
        "locations": "warehouse,location,zone,temperature_class,aisle,bay,level,location_type\n"
        "W1,A-01-01,AMB,ambient,1,1,1,pick_face\nW1,F-01-01,FRZ,frozen,9,1,1,pick_face",
    }
    for kind, text in files.items():
        result = import_file(kind, _write(tmp_path / f"{kind}.csv", text), settings=settings)
        assert result.rejected == 0, (kind, result)


def test_every_master_kind_loads_and_reimport_is_idempotent(
    tmp_path: Path, settings: Settings, pg_uri: str
) -> None:
    _master(tmp_path, settings)
    counts = _q(
        pg_uri,
        "select (select count(*) from warehouses), (select count(*) from suppliers), (select count(*) from items), "
        "(select count(*) from customers), (select count(*) from carrier_services s join carriers c on c.id = "
        "s.carrier_id where c.code = 'CX'), (select count(*) from lane_rates), (select count(*) from locations), "
        "(select count(*) from zones)",
    )[0]
    assert counts == (2, 1, 2, 1, 2, 1, 2, 2)
    assert _q(pg_uri, "select s.code from items i join suppliers s on s.id = i.supplier_id")[0][0] == "S1"
    before = _q(pg_uri, "select md5(string_agg(i::text, '|' order by id)) from items i")
    _master(tmp_path, settings)  # second time: nothing new, nothing changed
    assert _q(pg_uri, "select count(*) from items")[0][0] == 2
    assert _q(pg_uri, "select md5(string_agg(i::text, '|' order by id)) from items i") == before


def test_inventory_sets_balances_through_the_ledger(tmp_path: Path, settings: Settings, pg_uri: str) -> None:
    _master(tmp_path, settings)
    path = _write(
        tmp_path / "inv.csv",
        "warehouse,location,item,on_hand,lot_code,expiry_date\n"
        "W1,A-01-01,I1,40,,\nW1,F-01-01,I2,12,L1,2030-01-31\nW1,NOPE,I1,3,,\nW9,A-01-01,I1,3,,\nW1,A-01-01,I1,-2,,",
    )
    result = import_file("inventory", path, settings=settings)
    assert (result.loaded, result.rejected) == (2, 3)
    assert _q(pg_uri, "select sum(on_hand) from inventory_balances")[0][0] == 52
    # A second import with a new count posts only the difference.
    _write(path, "warehouse,location,item,on_hand\nW1,A-01-01,I1,35")
    assert import_file("inventory", path, settings=settings).loaded == 1
    assert import_file("inventory", path, settings=settings).loaded == 1
    ledger = _q(pg_uri, "select reason, quantity_delta from inventory_ledger order by id")
    assert ledger == [("opening_balance", 40), ("opening_balance", 12), ("opening_balance", -5)]
    assert (
        _q(
            pg_uri,
            "select count(*) from inventory_balances b where on_hand <> (select coalesce(sum(quantity_delta), 0) "
            "from inventory_ledger l where l.location_id = b.location_id and l.item_id = b.item_id "
            "and l.lot_id is not distinct from b.lot_id)",
        )[0][0]
        == 0
    )
    assert _q(pg_uri, "select lot_code, expiry_date::text from lots") == [("L1", "2030-01-31")]
    assert _q(pg_uri, "select count(*) from events where event_type = 'inventory.imported'")[0][0] == 3


def test_rejects_report_file_row_column_reason_and_good_rows_land(
    tmp_path: Path, settings: Settings, pg_uri: str
) -> None:
    path = _write(
        tmp_path / "wh.csv",
        "warehouse,name,lat,lon\nW1,North,52.1,5.2\nW2,South,95,5.0\nW3,East,abc,12\n,Nameless,1,1\nW1,Again,1,1",
    )
    result = import_file("warehouses", path, settings=settings)
    assert (result.loaded, result.rejected) == (1, 4)
    assert result.rejects_path == tmp_path / "wh.rejects.csv"
    rows = _rejects(result.rejects_path)
    assert {(r["file"], r["row"], r["column"]) for r in rows} == {
        ("wh.csv", "3", "lat"),
        ("wh.csv", "4", "lat"),
        ("wh.csv", "5", "warehouse"),
        ("wh.csv", "6", "warehouse"),
    }
    assert all(r["reason"] for r in rows)
    assert _q(pg_uri, "select code, name from warehouses") == [("W1", "North")]


def test_missing_required_column_loads_nothing(tmp_path: Path, settings: Settings, pg_uri: str) -> None:
    path = _write(tmp_path / "items.csv", "item,name\nI1,Widget")
    with pytest.raises(ValidationError, match="category") as err:
        import_file("items", path, settings=settings)
    assert err.value.field == "category"
    assert _q(pg_uri, "select count(*) from items")[0][0] == 0
    with pytest.raises(ValidationError, match="items, warehouses|warehouses"):
        import_file("widgets", path, settings=settings)
    assert "orders" in KINDS


def test_orders_create_missing_references_with_warnings_and_reimport(
    tmp_path: Path, settings: Settings, pg_uri: str
) -> None:
    _master(tmp_path, settings)
    path = _write(
        tmp_path / "orders.csv",
        "order_id,order_date,customer,warehouse,item,quantity,unit_price,shipped_date,delivered_date\n"
        "O1,2024-01-02,C1,W1,I1,3,9.5,2024-01-03,2024-01-05\n"
        "O1,2024-01-02,C1,W1,I9,1,,2024-01-03,2024-01-06\n"
        "O2,2024-01-03T10:00:00+01:00,C2,WNEW,I1,2,,,\n"
        "O3,2024-01-04,C3,W1,I1,0,,,\n"
        "O3,2024-01-04,C3,W1,I2,1,,,",
    )
    result = import_file("orders", path, settings=settings)
    assert (result.loaded, result.rejected) == (3, 2)  # O3 is rejected whole
    text = " ".join(result.warnings)
    assert "WNEW" in text and "I9" in text and "C2" in text
    rows = {r["row"]: r for r in _rejects(result.rejects_path)}
    assert rows["5"]["column"] == "quantity" and "another line" in rows["6"]["reason"]
    orders = dict(_q(pg_uri, "select order_number, status from orders"))
    assert orders == {"O1": "delivered", "O2": "delivered"}
    assert _q(pg_uri, "select ordered_at::text from orders where order_number = 'O2'")[0][0].startswith(
        "2024-01-03 09:00:00"
    )
    ship = _q(
        pg_uri,
        "select shipment_number, status, (select count(*) from shipment_lines l where l.shipment_id = s.id) from shipments s",
    )
    assert ship == [("IMP-O1-20240103", "delivered", 2)]
    assert _q(pg_uri, "select sum(quantity_shipped), sum(quantity_ordered) from order_lines") == [(6, 6)]
    snapshot = _q(
        pg_uri,
        "select (select count(*) from order_lines), (select count(*) from shipment_lines), "
        "(select count(*) from events), (select count(*) from order_status_history)",
    )
    again = import_file("orders", path, settings=settings)
    assert again.loaded == 3 and not [w for w in again.warnings if "created" in w]
    assert (
        _q(
            pg_uri,
            "select (select count(*) from order_lines), (select count(*) from shipment_lines), "
            "(select count(*) from events), (select count(*) from order_status_history)",
        )
        == snapshot
    )


def test_shipments_and_parquet(tmp_path: Path, settings: Settings, pg_uri: str) -> None:
    _master(tmp_path, settings)
    import_file(
        "orders",
        _write(
            tmp_path / "o.csv",
            "order_id,order_date,customer,warehouse,item,quantity,status\nO7,2024-02-01,C1,W1,I1,1,new",
        ),
        settings=settings,
    )
    assert _q(pg_uri, "select status from orders") == [("new",)]
    frame = pl.DataFrame(
        {
            "shipment_number": ["S1", "S2", "S3"],
            "warehouse": ["W1", "W1", "W1"],
            "shipped_at": ["2024-02-02T16:00:00Z", "2024-02-03", "2024-02-03"],
            "delivered_at": ["2024-02-04T10:00:00Z", None, "2024-02-01"],
            "order_id": ["O7", None, None],
            "carrier": ["CX", "CX", "CX"],
            "service": ["STD", "NOPE", "EXP"],
            "weight_kg": [3.5, 1.0, 1.0],
        }
    )
    path = tmp_path / "ship.parquet"
    frame.write_parquet(path)
    result = import_file("shipments", path, settings=settings)
    assert (result.loaded, result.rejected) == (1, 2)
    reasons = {r["row"]: r["column"] for r in _rejects(result.rejects_path)}
    assert reasons == {"2": "service", "3": "delivered_at"}
    assert _q(pg_uri, "select shipment_number, status from shipments") == [("S1", "delivered")]


def test_cli_exit_codes(tmp_path: Path, stockyard_home: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path / "c.csv", "customer,lat,lon\nC1,1,2")
    res = runner.invoke(app, ["import", "customers", str(good)])
    assert res.exit_code == 0, res.output
    bad = _write(tmp_path / "c2.csv", "customer,lat,lon\nC2,1,2\nC3,100,2")
    res = runner.invoke(app, ["import", "customers", str(bad)])
    assert res.exit_code == 2 and (tmp_path / "c2.rejects.csv").exists()
    res = runner.invoke(app, ["import", "customers", str(_write(tmp_path / "c3.csv", "customer,lat\nC4,1"))])
    assert res.exit_code == 2 and "lon" in res.output
    assert "Traceback" not in res.output
