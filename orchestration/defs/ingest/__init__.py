"""OLTP and feed ingest into bronze Delta: assets, quality checks, reconciliation and the outbox sensor."""
