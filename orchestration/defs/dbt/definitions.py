"""The dbt domain's definitions."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import dbt_resource, stockyard_dbt_assets

__all__ = ["defs"]

defs = dg.Definitions(assets=[stockyard_dbt_assets], resources={"dbt": dbt_resource()})
