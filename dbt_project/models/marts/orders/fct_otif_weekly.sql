-- OTIF per customer, warehouse and promise week. An order counts once it is due (promised date on or before the
-- as-of date) or delivered; it is OTIF when every line is delivered in full on or before the promised date.
with orders as (

    select * from {{ ref('fct_orders') }}

),

-- From the mart itself, not from `orders`: a CTE referenced twice is materialised whole by PostgreSQL.
as_of as (

    select max(order_date) as as_of_date from {{ ref('fct_orders') }}

),

due as (

    select
        customer_id,
        customer,
        warehouse_id,
        warehouse,
        cast({{ dbt.date_trunc('week', 'coalesce(promised_date, order_date)') }} as date) as week_start,
        is_on_time,
        is_in_full,
        is_otif,
        order_amount
    from orders
    where
        warehouse_id is not null
        and (delivered_at is not null or coalesce(promised_date, order_date) <= (select as_of_date from as_of))

)

select
    customer_id,
    customer,
    warehouse_id,
    warehouse,
    week_start,
    count(*) as orders_due,
    sum(case when is_on_time then 1 else 0 end) as orders_on_time,
    sum(case when is_in_full then 1 else 0 end) as orders_in_full,
    sum(case when is_otif then 1 else 0 end) as orders_otif,
    sum(case when is_on_time then 1 else 0 end) * 1.0 / count(*) as on_time_rate,
    sum(case when is_in_full then 1 else 0 end) * 1.0 / count(*) as in_full_rate,
    sum(case when is_otif then 1 else 0 end) * 1.0 / count(*) as otif_rate,
    sum(order_amount) as order_amount
from due
group by customer_id, customer, warehouse_id, warehouse, week_start
