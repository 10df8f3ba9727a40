{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['source_table', 'row_id'],
        indexes=[{'columns': ['_ingested_at']}] if target.type == 'postgres' else [],
    )
}}
-- Rows deleted in the OLTP (bronze tombstones: the row's last values with _is_deleted) of the tables the incremental
-- facts are computed from, one row per deleted row. Every other staging model drops tombstones; the incremental
-- facts read this one to remove what was deleted without a full refresh. The one staging model over several
-- sources: a union of filtered scans, no joins or aggregations.
{%- set tables = {
    'orders': {'order_id': 'id', 'event_at': 'ordered_at'},
    'order_lines': {'order_id': 'order_id', 'order_line_id': 'id'},
    'reservations': {'order_line_id': 'order_line_id', 'event_at': 'created_at'},
    'pick_tasks': {'order_line_id': 'order_line_id', 'event_at': 'picked_at'},
    'shipment_lines': {'order_line_id': 'order_line_id', 'shipment_id': 'shipment_id'},
    'shipments': {'order_id': 'order_id', 'shipment_id': 'id'},
    'tracking_events': {'shipment_id': 'shipment_id', 'event_at': 'occurred_at'},
    'inventory_ledger': {'item_id': 'item_id', 'warehouse_id': 'warehouse_id', 'event_at': 'occurred_at'},
} %}
-- Incremental like the other large staging models (macros/incremental_staging.sql): a run adds the tombstones of
-- each source table ingested after that table's own watermark here (each bronze table commits on its own), all
-- watermarks read in one query. `_is_deleted = true`, not `where _is_deleted`: DuckDB pushes only comparisons into
-- the Delta scan, where row-group statistics skip every file without tombstones (~5 ms vs ~90 ms a table).
{%- set watermarks = {} %}
{%- if execute and is_incremental() %}
{%- for row in run_query("select source_table, max(_ingested_at) from " ~ this ~ " group by source_table").rows %}
{%- do watermarks.update({row[0]: timestamptz_literal(row[1])}) %}
{%- endfor %}
{%- endif %}
{%- for table, columns in tables.items() %}
{%- set since = watermarks.get(table) %}
{%- if not loop.first %}

union all
{% endif %}
select
    '{{ table }}' as source_table,
    cast(id as bigint) as row_id,
    {%- for name in ['order_id', 'order_line_id', 'shipment_id', 'item_id', 'warehouse_id'] %}
    {% if name in columns %}cast({{ columns[name] }} as bigint){% else %}cast(null as bigint){% endif %} as {{ name }},
    {%- endfor %}
    {% if 'event_at' in columns %}cast({{ to_utc(columns['event_at']) }} as date){% else %}cast(null as date){% endif %} as event_date,
    {{ to_utc('_ingested_at') }} as _ingested_at
from {{ source('oltp', table) }}
where _is_deleted = true{% if since is not none %} and _ingested_at > {{ since }}{% endif %}
{%- endfor %}
