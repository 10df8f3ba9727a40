-- Daily demand of each item in each warehouse (dense: every day from the pair's first activity) with the
-- stockout flag. On a stockout day the observed quantity is censored (a lower bound of true demand):
-- `is_stockout` marks it and `uncensored_quantity` is null.
with positions as (

    select * from {{ ref('fct_inventory_daily') }}

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
