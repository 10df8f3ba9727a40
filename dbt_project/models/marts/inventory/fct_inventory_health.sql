-- Health of the stock of every item in every warehouse on the latest day: cover, stockouts, excess, ageing and
-- expiring lots.
with daily as (

    select * from {{ ref('fct_inventory_daily') }}

),

as_of as (

    select max(inventory_date) as as_of_date from daily

),

latest as (

    select * from daily where inventory_date = (select as_of_date from as_of)

),

stockouts as (

    select
        item_id,
        warehouse_id,
        sum(case when is_out_of_stock then 1 else 0 end) as stockout_days_90d,
        max(case when received_quantity > 0 then inventory_date end) as last_receipt_date
    from daily
    where inventory_date > {{ add_days("(select as_of_date from as_of)", -90) }}
    group by item_id, warehouse_id

),

receipts as (

    select item_id, warehouse_id, max(inventory_date) as last_receipt_date
    from daily
    where received_quantity > 0
    group by item_id, warehouse_id

),

expiring as (

    select
        b.item_id,
        b.warehouse_id,
        sum(b.on_hand) as expiring_quantity
    from {{ ref('stg_oltp__inventory_balances') }} as b
    inner join {{ ref('stg_oltp__lots') }} as lt on b.lot_id = lt.lot_id
    where lt.expiry_date <= {{ add_days("(select as_of_date from as_of)", var('expiring_within_days')) }}
    group by b.item_id, b.warehouse_id

)

select
    l.item_id,
    l.warehouse_id,
    l.item,
    l.warehouse,
    l.inventory_date as as_of_date,
    l.on_hand,
    l.reserved,
    l.available,
    l.avg_daily_demand,
    l.days_of_supply,
    l.inventory_value,
    l.is_out_of_stock,
    coalesce(s.stockout_days_90d, 0) as stockout_days_90d,
    coalesce(l.days_of_supply > {{ var('excess_days_of_supply') }}, l.avg_daily_demand = 0 and l.on_hand > 0) as is_excess,
    case
        when l.avg_daily_demand > 0
            then greatest(l.on_hand - l.avg_daily_demand * {{ var('excess_days_of_supply') }}, 0)
        else l.on_hand
    end as excess_quantity,
    r.last_receipt_date,
    {{ days_between('r.last_receipt_date', 'l.inventory_date') }} as days_since_last_receipt,
    coalesce(e.expiring_quantity, 0) as expiring_quantity
from latest as l
left join stockouts as s on l.item_id = s.item_id and l.warehouse_id = s.warehouse_id
left join receipts as r on l.item_id = r.item_id and l.warehouse_id = r.warehouse_id
left join expiring as e on l.item_id = e.item_id and l.warehouse_id = e.warehouse_id
