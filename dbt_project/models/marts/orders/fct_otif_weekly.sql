{%- set week = "cast(" ~ dbt.date_trunc('week', 'coalesce(promised_date, order_date)') ~ " as date)" %}
{{ config(**watermarked_mart_config('week_start')) }}
{#- The as-of date of the last run (the latest `_as_of_date`), none on a full build or an older mart without it. -#}
{%- set previous_as_of = none %}
{%- if execute and is_incremental() %}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if '_as_of_date' in columns %}
        {%- set found = run_query("select max(_as_of_date) from " ~ this) %}
        {%- set previous_as_of = found.columns[0].values()[0] %}
    {%- endif %}
{%- endif %}
-- OTIF per customer, warehouse and promise week. An order counts once it is due (promised date on or before the
-- as-of date) or delivered; it is OTIF when every line is delivered in full on or before the promised date.
-- Incremental by promise week (macros/incremental_periods.sql): the weeks of the orders recomputed since the last
-- run, and every week from the last run's as-of date (`_as_of_date`) on, where orders fall due as it moves.
with as_of as (

    -- From the mart itself, not from a CTE of it: a CTE referenced twice is materialised whole by PostgreSQL.
    select max(order_date) as as_of_date from {{ ref('fct_orders') }}

),

due as (

    select
        customer_id,
        customer,
        warehouse_id,
        warehouse,
        {{ week }} as week_start,
        is_on_time,
        is_in_full,
        is_otif,
        order_amount,
        _ingested_at
    from {{ ref('fct_orders') }}
    where
        warehouse_id is not null
        and (delivered_at is not null or coalesce(promised_date, order_date) <= (select as_of_date from as_of))
        {%- if is_incremental() %}
        and (
            {{ in_refreshed_periods(week, ref('fct_orders')) }}
            {%- if previous_as_of is not none %}
            or {{ week }} >= cast({{ dbt.date_trunc('week', "cast('" ~ previous_as_of ~ "' as date)") }} as date)
            {%- else %}
            or true
            {%- endif %}
        )
        {%- endif %}

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
    sum(order_amount) as order_amount,
    max(_ingested_at) as _ingested_at,
    (select as_of_date from as_of) as _as_of_date,
    {{ inputs_watermark([ref('fct_orders')]) }} as _watermark
from due
group by customer_id, customer, warehouse_id, warehouse, week_start
