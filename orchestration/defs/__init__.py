"""Dagster definitions by domain; ``orchestration.definitions`` merges them."""
