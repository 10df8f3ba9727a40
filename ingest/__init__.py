"""OLTP → bronze Delta ingest (incremental, exactly once) and landing feeds with quarantine.

Modules: :mod:`ingest.tables` (registry, type mapping), :mod:`ingest.extract` (ADBC → Arrow streams),
:mod:`ingest.load_delta` (append / merge / refresh commits), :mod:`ingest.state` (watermarks in the Delta log),
:mod:`ingest.feeds`, :mod:`ingest.maintenance`, :mod:`ingest.reconcile`, :mod:`ingest.run` (entry points).

Why ``id > last_id`` is not enough
----------------------------------
Ids and ``updated_at`` are assigned *before* commit. Transaction A takes id 100, B takes 101, B commits, an ingest
run reads up to 101, then A commits: a naive ``id > 101`` watermark never sees 100. The schemes below never advance
past a change that might still become visible.

Append-only tables (``events``, ``inventory_ledger``, ``tracking_events``, ``order_status_history``)
--------------------------------------------------------------------------------------------------------
Each row carries ``txid``, the 64-bit id of the transaction that wrote it (``order_status_history`` since
migration 0004; a table without the column falls back to its ``xmin`` system column, resolved to 64 bits against
the horizon). A run opens a REPEATABLE
READ snapshot and reads its horizon ``H = pg_snapshot_xmin(pg_current_snapshot())``: every transaction below ``H``
has finished, so the set of rows with ``txid < H`` is final and fully visible in the snapshot. The run takes exactly
``H_prev <= txid < H`` and commits ``H`` as the new watermark. The windows partition the transaction-id space, so
each row is taken once, however late or out of id order its transaction commits. (The cost: a change becomes
visible to ingest once every transaction older than it has finished.) Bronze partitions them by the month of their
event time (``_partition_month``) and keeps the event's UTC date in ``_partition_date``.

Mutable tables (``oltp.models.MUTABLE_TABLES``)
-----------------------------------------------
A trigger stamps ``updated_at = clock_timestamp()`` on update; inserts get ``now()`` (the transaction start). So a
row version that is not yet committed carries a time at or after its transaction's start. Just before opening the
snapshot, the run reads ``T = min(now, start of every other open transaction of this database) - margin``
(``pg_stat_activity.xact_start``): every row version committed later has ``updated_at >= T``. The run takes
``updated_at >= T_prev`` (an overlap window, served by the ``(updated_at, id)`` index) and merges it on ``id``;
the merge only rewrites rows whose ``updated_at`` changed, so re-reading the overlap is a no-op, and it opens only the
bronze files whose id range overlaps the change set's (see :mod:`ingest.load_delta`). Deletes come from
``cdc_deletes`` (filled by a delete trigger, with ``txid``) with the same ``txid`` window as append tables, in the
same snapshot, and become tombstones (``_is_deleted = true``, ``_op = 'delete'``). Writers must not back-date
``updated_at`` of rows they insert or update (the triggers and defaults do not).

Full-refresh tables (``sim.*``)
-------------------------------
Rewritten when their content fingerprint (count + sum of row hashes) changed.

Exactly once
------------
Each table's run is one Delta commit whose custom metadata holds the new watermark (``stockyard.watermark``);
the watermark is read back from the Delta history at the next start. Data and watermark therefore land together
or not at all: a crash before the commit leaves the old watermark (the window is re-read), a crash after it leaves
the new one. A run that finds nothing new writes nothing (no Delta version). Feeds record their files in the same
commit as their rows (``_source_file``) plus a manifest table, see :mod:`ingest.feeds`.
"""
