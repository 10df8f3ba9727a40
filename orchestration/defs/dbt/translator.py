"""How dbt resources become Dagster assets: one rule for every model, derived from the dbt ``fqn``.

A model at ``models/<layer>/<domain>/<name>.sql`` has fqn ``[project, layer, domain, ..., name]`` and becomes the
asset ``[layer, name]`` in group ``<domain>`` — the same key on DuckDB and PostgreSQL, since the engine is never
part of it. A dbt source ``<source>.<table>`` is the bronze Delta table ingest writes, ``[bronze, <source>__<table>]``
(the ``bronze/<source>__<table>`` naming of STYLE §1), so the dbt graph hangs off the ingest assets. Seeds land in
the staging layer. Per-model exceptions belong in dbt ``meta``/``config`` (``meta.dagster.group`` wins), never in
branches here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

__all__ = ["LAYERS", "StockyardDbtTranslator", "bronze_key"]

LAYERS = ("bronze", "staging", "intermediate", "marts", "features", "ml")


def bronze_key(source: str, table: str) -> dg.AssetKey:
    """Asset key of the bronze table ``<source>__<table>`` (shared by ingest assets and dbt sources).

    Args:
        source: Source system (``oltp``, ``feeds``).
        table: Table name in that source.

    Returns:
        ``AssetKey(["bronze", "<source>__<table>"])``.
    """
    return dg.AssetKey(["bronze", f"{source}__{table}"])


def _layer_and_group(props: Mapping[str, Any]) -> tuple[str, str | None]:
    fqn = list(props.get("fqn") or [])
    # fqn = [project, <folder>..., name]; the first folder is the layer, the second the domain.
    folders = fqn[1:-1]
    layer = folders[0] if folders else ""
    if props.get("resource_type") == "seed":
        layer = "staging"
    if layer not in LAYERS:
        raise ValueError(
            f"dbt {props.get('resource_type')} {props.get('unique_id')} lives outside the layer folders "
            f"{LAYERS} (fqn {fqn}); move it under models/<layer>/<domain>/"
        )
    group = folders[1] if len(folders) > 1 else layer
    return layer, group


class StockyardDbtTranslator(DagsterDbtTranslator):
    """Keys ``[layer, name]`` and domain groups for every dbt model, seed, snapshot and source."""

    def __init__(self) -> None:
        # Views are real relations in both engines and dbt builds them; keep them ordinary assets.
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        """The default spec with Stockyard's key and group (deps resolve through this method too)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        return spec.replace_attributes(key=self._key(props), group_name=self._group(props))

    @staticmethod
    def _key(props: Mapping[str, Any]) -> dg.AssetKey:
        if props["resource_type"] == "source":
            return bronze_key(props["source_name"], props["name"])
        layer, _ = _layer_and_group(props)
        return dg.AssetKey([layer, props["name"]])

    @staticmethod
    def _group(props: Mapping[str, Any]) -> str | None:
        meta = (props.get("config") or {}).get("meta") or props.get("meta") or {}
        explicit = (meta.get("dagster") or {}).get("group")
        if explicit:
            return str(explicit)
        if props["resource_type"] == "source":
            return str(props["source_name"])
        _, group = _layer_and_group(props)
        return group
