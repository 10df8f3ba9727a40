"""indexes on the foreign keys the services look rows up by

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 04:05:00

With a simulated history (hundreds of thousands of shipment lines and pick tasks) the services' lookups by parent
id — the lines of a shipment, the pick tasks of a reservation (``release_wave``'s "not yet tasked" check), the
reservations of a balance, the lines of a purchase order / receipt / return — were sequential scans, making the
services tail of ``stockyard simulate`` (and any live warehouse) slow. PostgreSQL does not index foreign keys by
itself.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_shipment_lines_shipment", "shipment_lines", "shipment_id"),
    ("ix_shipment_lines_order_line", "shipment_lines", "order_line_id"),
    ("ix_pick_tasks_reservation", "pick_tasks", "reservation_id"),
    ("ix_pick_tasks_wave", "pick_tasks", "wave_id"),
    ("ix_pick_tasks_order_line", "pick_tasks", "order_line_id"),
    ("ix_reservations_balance", "reservations", "balance_id"),
    ("ix_packages_shipment", "packages", "shipment_id"),
    ("ix_freight_charges_shipment", "freight_charges", "shipment_id"),
    ("ix_purchase_order_lines_po", "purchase_order_lines", "purchase_order_id"),
    ("ix_receipt_lines_receipt", "receipt_lines", "receipt_id"),
    ("ix_return_lines_return", "return_lines", "return_id"),
    ("ix_return_lines_order_line", "return_lines", "order_line_id"),
    ("ix_returns_order", "returns", "order_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
