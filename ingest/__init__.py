"""Ingestion: load daily prices, sentiment and corporate events into the DuckDB warehouse.

Sources (`ingest.sources`) return frames in the shapes of `ingest.frames`; `ingest.load` validates
them (rules in `ingest.validate`, run through great-expectations), quarantines bad rows with a reason
and upserts the rest into the `raw` schema in one transaction per run (`ingest.warehouse`).
Run it as `python -m ingest --help`.
"""
