"""order_status_history: txid column (the writing transaction's 64-bit id), like the other append-only tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 04:10:00

Ingest captured this table through the ``xmin`` system column, which is 32 bits, wraps around and is lost when
a row is frozen. With ``txid`` it takes the same ``txid`` window as ``events`` and ``inventory_ledger``.

Existing rows get the 64-bit form of their ``xmin`` (resolved against the current transaction id's epoch, as
ingest did), so a row already taken by an xmin-based ingest run stays below its watermark and is not taken again,
and a row not yet taken is above it. Frozen rows (``xmin`` 2) have lost their id and get 0: they are old enough to
have been ingested. The column is filled before the default is set so the backfill is not a table-wide constant.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_XID32 = 4294967296


def upgrade() -> None:
    op.execute("alter table order_status_history add column txid bigint")
    x = "xmin::text::int8"
    op.execute(
        f"""
        with h as (select pg_current_xact_id()::text::int8 as h)
        update order_status_history set txid = case
            when {x} < 3 then 0
            else (h.h - h.h % {_XID32}) + {x}
                 - case when {x} > h.h % {_XID32} + 2147483648 then {_XID32} else 0 end
                 + case when {x} < h.h % {_XID32} - 2147483648 then {_XID32} else 0 end
        end
        from h
        """
    )
    op.execute(
        "alter table order_status_history "
        "alter column txid set default pg_current_xact_id()::text::bigint, "
        "alter column txid set not null"
    )


def downgrade() -> None:
    op.execute("alter table order_status_history drop column txid")
