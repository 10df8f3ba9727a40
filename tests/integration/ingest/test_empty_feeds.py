"""A home without landing files (history from `stockyard import`) still gets its feed tables, empty."""

from pathlib import Path

import deltalake

from ingest.feeds import TELEMETRY_SCHEMA, TRACKING_SCHEMA, ingest_feed
from stockyard.settings import Settings


def test_feed_tables_exist_and_stay_empty_without_files(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    for name, schema in (("tracking_events", TRACKING_SCHEMA), ("telemetry", TELEMETRY_SCHEMA)):
        ingest_feed(name, settings)
        table = deltalake.DeltaTable(str(settings.bronze_dir / f"feeds__{name}"))
        assert table.to_pyarrow_table().num_rows == 0
        assert set(schema.names) <= set(table.schema().to_arrow().names)
        version = table.version()
        ingest_feed(name, settings)  # a second empty run writes nothing
        assert deltalake.DeltaTable(str(settings.bronze_dir / f"feeds__{name}")).version() == version
