-- ABC (share of consumption value over the trailing 52 weeks) × XYZ (coefficient of variation of weekly demand)
-- of every item in every warehouse.
with daily as (

    select * from {{ ref('fct_inventory_daily') }}

),

as_of as (

    select max(inventory_date) as as_of_date from daily

),

recent as (

    select d.item_id, d.warehouse_id, d.item, d.warehouse, d.inventory_date, d.demand_quantity
    from daily as d
    where d.inventory_date > {{ add_days("(select as_of_date from as_of)", -364) }}

),

weekly as (

    select
        item_id,
        warehouse_id,
        cast({{ dbt.date_trunc('week', 'inventory_date') }} as date) as week_start,
        sum(demand_quantity) as weekly_demand
    from recent
    group by item_id, warehouse_id, cast({{ dbt.date_trunc('week', 'inventory_date') }} as date)

),

variability as (

    select
        item_id,
        warehouse_id,
        count(*) as weeks_observed,
        avg(weekly_demand * 1.0) as mean_weekly_demand,
        coalesce({{ stddev('weekly_demand * 1.0') }}, 0) as sd_weekly_demand
    from weekly
    group by item_id, warehouse_id

),

value as (

    select
        r.item_id,
        r.warehouse_id,
        max(r.item) as item,
        max(r.warehouse) as warehouse,
        sum(r.demand_quantity) as demand_quantity_52w,
        sum(r.demand_quantity * i.unit_cost) as consumption_value_52w
    from recent as r
    inner join {{ ref('stg_oltp__items') }} as i on r.item_id = i.item_id
    group by r.item_id, r.warehouse_id

),

classified as (

    select
        v.*,
        va.weeks_observed,
        va.mean_weekly_demand,
        va.sd_weekly_demand,
        {{ abc_xyz_columns('v.consumption_value_52w', 'v.warehouse_id', 'v.item_id', 'va.mean_weekly_demand', 'va.sd_weekly_demand') }}
    from value as v
    inner join variability as va on v.item_id = va.item_id and v.warehouse_id = va.warehouse_id

)

select
    *,
    abc_class || xyz_class as abc_xyz_class
from classified
