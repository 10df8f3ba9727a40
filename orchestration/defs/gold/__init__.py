"""Gold: the marts checked by Great Expectations and published as Parquet for BI, Feast and ML."""
