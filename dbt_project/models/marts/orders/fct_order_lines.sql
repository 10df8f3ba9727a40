{%- set pg_indexes = [
    {'columns': ['order_id']}, {'columns': ['order_line_id']}, {'columns': ['_ingested_at']},
] if target.type == 'postgres' else [] %}
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
-- One row per order line. Incremental: the orders touched by bronze rows ingested after this table's watermark
-- (lines, orders, reservations, pick tasks, shipment lines, shipments, tombstones included) are found from staging,
-- only their lines are computed (the filter is pushed into every input CTE), and they replace all stored lines of
-- those orders (delete+insert on order_id, so a deleted line disappears); orders deleted outright are removed by
-- the pre-hook.
-- depends_on: {{ ref('stg_oltp__orders') }}, {{ ref('stg_oltp__order_lines') }}, {{ ref('stg_oltp__reservations') }}
-- depends_on: {{ ref('stg_oltp__pick_tasks') }}, {{ ref('stg_oltp__shipment_lines') }}, {{ ref('stg_oltp__shipments') }}
-- depends_on: {{ ref('stg_oltp__tombstones') }}
{%- set since = watermark() %}
with
{%- if is_incremental() %}

changed_orders as (

    {{ changed_order_ids(since) }}

),

lines as (

    {{ order_lines_allocated_and_fulfilled('select order_id from changed_orders') }}

)
{%- else %}

lines as (

    select * from {{ ref('int_order_lines_allocated_and_fulfilled') }}

)
{%- endif %}

select
    l.order_line_id,
    l.order_id,
    l.order_number,
    l.line_number,
    l.item_id,
    i.code as item,
    l.customer_id,
    c.code as customer,
    l.warehouse_id,
    w.code as warehouse,
    l.channel,
    l.order_status,
    l.ordered_at,
    l.order_date,
    l.promised_date,
    l.quantity_ordered,
    l.quantity_allocated,
    l.quantity_picked,
    l.quantity_shipped,
    l.quantity_backordered,
    l.quantity_cancelled,
    l.quantity_delivered,
    l.unit_price,
    l.quantity_ordered * l.unit_price as line_amount,
    l.is_promo,
    l.allocated_at,
    l.picked_at,
    l.shipped_at,
    l.delivered_at,
    {{ fractional_days_between('l.ordered_at', 'l.shipped_at') }} as order_to_ship_days,
    {{ fractional_days_between('l.ordered_at', 'l.delivered_at') }} as order_to_delivery_days,
    {{ otif_flags('l.quantity_ordered', 'l.quantity_cancelled', 'l.quantity_delivered', 'l.delivered_at', 'l.promised_date') }},
    l._ingested_at
from lines as l
inner join {{ ref('stg_oltp__items') }} as i on l.item_id = i.item_id
inner join {{ ref('stg_oltp__customers') }} as c on l.customer_id = c.customer_id
left join {{ ref('stg_oltp__warehouses') }} as w on l.warehouse_id = w.warehouse_id
