"""Operational alerts: demand outside its forecast interval, cold-chain excursions, shipments at risk of lateness."""
