{#- The one definition of int_demand_daily_censored. `positions_where` (a condition on fct_inventory_daily's
    columns) restricts the days: the incremental fct_demand_daily computes only the days fct_inventory_daily
    recomputed, and reads only the order lines from the first of them on (left-joined to every position, the
    daily aggregate of all order lines was computed whole each run). -#}
{% macro demand_daily_censored(positions_where=none) -%}
with positions as (

    select * from {{ ref('fct_inventory_daily') }}
    {%- if positions_where %}
    where {{ positions_where }}
    {%- endif %}

),

lines as (

    select
        l.item_id,
        o.warehouse_id,
        cast(o.ordered_at as date) as demand_date,
        l.quantity_ordered,
        l.quantity_backordered,
        l.quantity_cancelled,
        l.unit_price,
        l.is_promo
    from {{ ref('stg_oltp__order_lines') }} as l
    inner join {{ ref('stg_oltp__orders') }} as o on l.order_id = o.order_id
    where o.warehouse_id is not null
    {%- if positions_where %}
        and o.ordered_at >= (select min(inventory_date) from positions)
    {%- endif %}

),

line_daily as (

    select
        item_id,
        warehouse_id,
        demand_date,
        count(*) as order_line_count,
        sum(quantity_backordered) as quantity_backordered,
        -- Quantity-weighted selling price of the day.
        sum(unit_price * quantity_ordered) / nullif(sum(quantity_ordered), 0) as unit_price,
        bool_or(is_promo) as is_promo
    from lines
    group by item_id, warehouse_id, demand_date

)

select
    p.item_id,
    p.warehouse_id,
    p.inventory_date as demand_date,
    p.demand_quantity as quantity,
    coalesce(d.order_line_count, 0) as order_line_count,
    coalesce(d.quantity_backordered, 0) as quantity_backordered,
    d.unit_price as selling_price,
    coalesce(d.is_promo, false) as is_promo,
    (coalesce(d.quantity_backordered, 0) > 0 or p.available <= 0) as is_stockout,
    case
        when coalesce(d.quantity_backordered, 0) > 0 or p.available <= 0 then null
        else p.demand_quantity
    end as uncensored_quantity,
    p.available as closing_available,
    p._computed_at
from positions as p
left join line_daily as d
    on
        p.item_id = d.item_id
        and p.warehouse_id = d.warehouse_id
        and p.inventory_date = d.demand_date
{%- endmacro %}
