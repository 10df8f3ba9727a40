"""The one set of Dagster resources, parameterised by Stockyard's settings (``STOCKYARD_*`` env vars).

Assets never read ``os.environ`` or build connections themselves: they ask :class:`StockyardResource` for the
settings (and through them the lake paths, the OLTP URI, the dbt target), so switching home, database or dbt
target is configuration only. The settings are read when a run starts, not when the code location loads, which is
what lets the tests point ``STOCKYARD_HOME`` at a temporary directory.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from stockyard.settings import Settings, get_settings

__all__ = ["StockyardResource", "build_resources"]


class StockyardResource(dg.ConfigurableResource):
    """Access to the platform: settings, the OLTP database and the lake.

    ``home`` overrides ``STOCKYARD_HOME`` for this resource only (tests and ad-hoc runs); unset, the environment
    decides, exactly as for every ``stockyard`` command.
    """

    home: str | None = None

    def settings(self) -> Settings:
        """The settings this run works with.

        Returns:
            ``Settings`` for ``home`` when set, else the process-wide :func:`get_settings`.
        """
        if self.home is None:
            return get_settings()
        return Settings(home=self.home)

    def oltp_uri(self) -> str:
        """The OLTP PostgreSQL URI, starting the embedded server if needed.

        Returns:
            A ``postgresql://`` URI.
        """
        from stockyard.pg import ensure_postgres

        return ensure_postgres(self.settings())


def build_resources(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resources every Stockyard asset may ask for, keyed by parameter name.

    Args:
        extra: More resources (the dbt CLI resource is added by the dbt domain module).

    Returns:
        A mapping for ``dg.Definitions(resources=...)``.
    """
    return {"stockyard": StockyardResource(), **(extra or {})}
