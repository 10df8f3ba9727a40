"""Forecasting: the Feast demand-state features (and, as ``ml`` lands, the demand model and forecast)."""
