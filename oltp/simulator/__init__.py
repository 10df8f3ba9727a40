"""The operations simulator: a deterministic, realistic operations history written into the OLTP.

``simulate(SimulationConfig(...))`` generates master data, a demand process (ground truth in ``sim``), and either
writes the whole history in bulk (COPY) or drives the domain services day by day, or both (``auto``: bulk history,
services for the final days so live state comes from the real services). Feed files for ingest land under
``$STOCKYARD_HOME/landing``.
"""

from oltp.simulator.config import SimulationConfig
from oltp.simulator.runner import simulate

__all__ = ["SimulationConfig", "simulate"]
