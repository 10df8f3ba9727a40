-- Monthly S&OP base: demand, shipments, receipts, closing inventory and warehouse capacity per item family,
-- warehouse and month.
with daily as (

    select d.*, i.family
    from {{ ref('fct_inventory_daily') }} as d
    inner join {{ ref('stg_oltp__items') }} as i on d.item_id = i.item_id

),

monthly as (

    select
        family,
        warehouse_id,
        max(warehouse) as warehouse,
        cast({{ dbt.date_trunc('month', 'inventory_date') }} as date) as month_start,
        count(distinct inventory_date) as days_in_data,
        max(inventory_date) as last_date,
        sum(demand_quantity) as demand_quantity,
        sum(issued_quantity) as issued_quantity,
        sum(received_quantity) as receipt_quantity,
        sum(returned_quantity) as returned_quantity
    from daily
    group by family, warehouse_id, cast({{ dbt.date_trunc('month', 'inventory_date') }} as date)

),

closing as (

    select
        d.family,
        d.warehouse_id,
        m.month_start,
        sum(d.on_hand) as closing_on_hand,
        sum(d.inventory_value) as closing_inventory_value
    from daily as d
    inner join monthly as m
        on d.family = m.family and d.warehouse_id = m.warehouse_id and d.inventory_date = m.last_date
    group by d.family, d.warehouse_id, m.month_start

)

select
    m.family,
    m.warehouse_id,
    m.warehouse,
    m.month_start,
    m.days_in_data,
    m.demand_quantity,
    m.issued_quantity,
    m.receipt_quantity,
    m.returned_quantity,
    c.closing_on_hand,
    c.closing_inventory_value,
    w.throughput_capacity_units_per_day * m.days_in_data as throughput_capacity_units,
    w.storage_capacity_m3
from monthly as m
inner join closing as c
    on m.family = c.family and m.warehouse_id = c.warehouse_id and m.month_start = c.month_start
inner join {{ ref('stg_oltp__warehouses') }} as w on m.warehouse_id = w.warehouse_id
