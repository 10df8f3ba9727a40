{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_id',
        on_schema_change='append_new_columns',
    )
}}
-- Incremental: recomputes every line of the orders touched by newly ingested lines, orders, reservations, pick
-- tasks, shipment lines or shipments.
with lines as (

    select * from {{ ref('int_order_lines_allocated_and_fulfilled') }}

)
{%- if is_incremental() %},

changed_orders as (

    select order_id from lines where _ingested_at > {{ watermark() }}

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
{%- if is_incremental() %}
where l.order_id in (select order_id from changed_orders)
{%- endif %}
