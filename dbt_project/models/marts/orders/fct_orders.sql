{#- order_date: the as-of date of fct_otif_weekly (its maximum) on every run. -#}
{%- set pg_indexes = [{'columns': ['order_id']}, {'columns': ['_ingested_at']}, {'columns': ['order_date']}] if target.type == 'postgres' else [] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='append_new_columns',
        indexes=pg_indexes,
        pre_hook="{{ delete_tombstoned('order_id', ['orders', 'order_lines'], 'order_id') }}",
    )
}}
-- One row per order, aggregated from fct_order_lines. Incremental: the orders whose lines were recomputed after
-- this table's watermark, plus orders with a deleted line; orders deleted outright are removed by the pre-hook.
-- depends_on: {{ ref('stg_oltp__tombstones') }}
with lines as (

    select * from {{ ref('fct_order_lines') }}
    {%- if is_incremental() %}
    where order_id in (
        select order_id from {{ ref('fct_order_lines') }} where _ingested_at > {{ watermark() }}
        union
        select order_id from {{ ref('stg_oltp__tombstones') }}
        where source_table in ('orders', 'order_lines', 'shipments') and order_id is not null and _ingested_at > {{ watermark() }}
    )
    {%- endif %}

)

select
    order_id,
    max(order_number) as order_number,
    max(customer_id) as customer_id,
    max(customer) as customer,
    max(warehouse_id) as warehouse_id,
    max(warehouse) as warehouse,
    max(channel) as channel,
    max(order_status) as order_status,
    min(ordered_at) as ordered_at,
    min(order_date) as order_date,
    min(promised_date) as promised_date,
    count(*) as line_count,
    sum(quantity_ordered) as quantity_ordered,
    sum(quantity_allocated) as quantity_allocated,
    sum(quantity_shipped) as quantity_shipped,
    sum(quantity_backordered) as quantity_backordered,
    sum(quantity_cancelled) as quantity_cancelled,
    sum(quantity_delivered) as quantity_delivered,
    sum(line_amount) as order_amount,
    min(shipped_at) as first_shipped_at,
    -- The order is delivered when its last line is.
    case when count(delivered_at) = count(*) then max(delivered_at) end as delivered_at,
    bool_and(is_in_full) as is_in_full,
    bool_and(is_on_time) as is_on_time,
    bool_and(is_otif) as is_otif,
    sum(quantity_backordered) > 0 as has_backorder,
    max(_ingested_at) as _ingested_at
from lines
group by order_id
