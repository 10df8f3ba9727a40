"""Demand forecasting: a global LightGBM quantile model over item x warehouse daily series."""
