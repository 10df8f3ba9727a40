"""dock appointments: no two active appointments overlap on one door

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00

An exclusion constraint makes overlapping active bookings impossible in the database itself (the booking
service checks first and names the conflicting door and time; this is the last line of defence under
concurrency). Only ``booked`` / ``arrived`` appointments take part, so completed or cancelled history (e.g. the
simulator's bulk-written receipts) may overlap. The door is compared as a one-point ``int4range`` so the core
GiST range operator class suffices (no ``btree_gist`` extension needed).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        alter table dock_appointments add constraint ex_dock_appointments_no_overlap
        exclude using gist (
            int4range(dock_door_id, dock_door_id, '[]') with &&,
            tstzrange(starts_at, ends_at, '[)') with &&
        ) where (status in ('booked', 'arrived'))
        """
    )


def downgrade() -> None:
    op.execute("alter table dock_appointments drop constraint ex_dock_appointments_no_overlap")
