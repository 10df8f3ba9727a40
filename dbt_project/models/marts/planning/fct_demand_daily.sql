{%- set pg_indexes = [{'columns': ['item', 'warehouse', 'date']}, {'columns': ['_computed_at']}] if target.type == 'postgres' else [] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['item', 'warehouse', 'date'],
        on_schema_change='append_new_columns',
        indexes=pg_indexes,
        post_hook="{{ refresh_demand_daily_attributes() }}",
    )
}}
-- The forecasting base. Column names are a contract with ml.forecasting (item, warehouse, date, quantity,
-- is_stockout, unit_price, is_promo, category, abc_class, day_of_week, month, is_holiday). Incremental: the days
-- fct_inventory_daily recomputed in this run, and only the order lines from the first of them on; the columns taken
-- from dimensions are brought up to date on the older days (macros/demand_daily_attributes.sql).
-- depends_on: {{ ref('fct_inventory_daily') }}, {{ ref('stg_oltp__order_lines') }}, {{ ref('stg_oltp__orders') }}
with demand as (

    {%- if is_incremental() %}
    {{ demand_daily_censored('_computed_at > ' ~ watermark('_computed_at')) }}
    {%- else %}
    select * from {{ ref('int_demand_daily_censored') }}
    {%- endif %}

)

select
    i.code as item,
    w.code as warehouse,
    d.demand_date as date,
    cast(d.quantity as double precision) as quantity,
    d.is_stockout,
    -- No sale that day: the list price is the price the customer would have seen.
    cast(coalesce(d.selling_price, i.list_price) as double precision) as unit_price,
    d.is_promo,
    i.category,
    coalesce(c.abc_class, 'C') as abc_class,
    dd.day_of_week,
    dd.month,
    dd.is_holiday,
    d.item_id,
    d.warehouse_id,
    cast(d.uncensored_quantity as double precision) as uncensored_quantity,
    d.quantity_backordered,
    d.order_line_count,
    i.family,
    coalesce(c.xyz_class, 'Z') as xyz_class,
    d._computed_at
from demand as d
inner join {{ ref('stg_oltp__items') }} as i on d.item_id = i.item_id
inner join {{ ref('stg_oltp__warehouses') }} as w on d.warehouse_id = w.warehouse_id
inner join {{ ref('dim_date') }} as dd on d.demand_date = dd.date_day
left join {{ ref('dim_item_abc_xyz') }} as c on d.item_id = c.item_id and d.warehouse_id = c.warehouse_id
