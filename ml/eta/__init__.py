"""Shipment ETA: LightGBM quantile regression of transit days (P10/P50/P90)."""
