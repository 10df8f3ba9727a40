{#- The one definition of int_order_lines_allocated_and_fulfilled. `order_ids` (a subquery of order ids) restricts
    every input CTE to those orders: the incremental fct_order_lines computes only the changed orders. -#}
{% macro order_lines_allocated_and_fulfilled(order_ids=none) -%}
-- Each order line with its order header and the timing of its allocation, pick, shipment and delivery.
with lines as (

    select * from {{ ref('stg_oltp__order_lines') }}
    {%- if order_ids %}
    where order_id in ({{ order_ids }})
    {%- endif %}

),

orders as (

    select * from {{ ref('stg_oltp__orders') }}
    {%- if order_ids %}
    where order_id in ({{ order_ids }})
    {%- endif %}

),

allocations as (

    select
        order_line_id,
        min(created_at) as allocated_at,
        max(_ingested_at) as _ingested_at
    from {{ ref('stg_oltp__reservations') }}
    {%- if order_ids %}
    where order_line_id in (select order_line_id from lines)
    {%- endif %}
    group by order_line_id

),

picks as (

    select
        order_line_id,
        min(picked_at) as first_picked_at,
        max(picked_at) as picked_at,
        sum(quantity_picked) as quantity_picked_by_tasks,
        max(_ingested_at) as _ingested_at
    from {{ ref('stg_oltp__pick_tasks') }}
    {%- if order_ids %}
    where order_line_id in (select order_line_id from lines)
    {%- endif %}
    group by order_line_id

),

shipped as (

    select
        sl.order_line_id,
        min(s.picked_up_at) as shipped_at,
        -- Delivered only when every shipment carrying the line is delivered.
        case when count(*) = count(s.delivered_at) then max(s.delivered_at) end as delivered_at,
        sum(case when s.delivered_at is not null then sl.quantity else 0 end) as quantity_delivered,
        max(greatest(sl._ingested_at, s._ingested_at)) as _ingested_at
    from {{ ref('stg_oltp__shipment_lines') }} as sl
    inner join {{ ref('stg_oltp__shipments') }} as s on sl.shipment_id = s.shipment_id
    where sl.order_line_id is not null and s.status <> 'cancelled'
    {%- if order_ids %}
        and sl.order_line_id in (select order_line_id from lines)
    {%- endif %}
    group by sl.order_line_id

)

select
    l.order_line_id,
    l.order_id,
    o.order_number,
    l.line_number,
    l.item_id,
    o.customer_id,
    o.warehouse_id,
    o.channel,
    o.priority,
    o.status as order_status,
    o.ordered_at,
    cast(o.ordered_at as date) as order_date,
    o.promised_date,
    l.quantity_ordered,
    l.quantity_allocated,
    l.quantity_picked,
    l.quantity_shipped,
    l.quantity_backordered,
    l.quantity_cancelled,
    coalesce(sh.quantity_delivered, 0) as quantity_delivered,
    l.unit_price,
    l.is_promo,
    -- Allocated no later than picked: histories loaded in bulk stamp reservations with the load time.
    case when p.first_picked_at < a.allocated_at then p.first_picked_at else a.allocated_at end as allocated_at,
    p.picked_at,
    sh.shipped_at,
    sh.delivered_at,
    greatest(
        l._ingested_at,
        o._ingested_at,
        coalesce(a._ingested_at, l._ingested_at),
        coalesce(p._ingested_at, l._ingested_at),
        coalesce(sh._ingested_at, l._ingested_at)
    ) as _ingested_at
from lines as l
inner join orders as o on l.order_id = o.order_id
left join allocations as a on l.order_line_id = a.order_line_id
left join picks as p on l.order_line_id = p.order_line_id
left join shipped as sh on l.order_line_id = sh.order_line_id
{%- endmacro %}
