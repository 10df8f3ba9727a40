"""Test data factories (small, deterministic)."""
