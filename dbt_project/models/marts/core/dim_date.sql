-- Calendar from the first day of data to one year after the last (forecast horizons need future days), with the
-- recurring holidays of the holidays seed.
with bounds as (

    -- One scan of each table for both ends (four scans before: ~1 s of 5M ledger rows on PostgreSQL).
    select
        min(first_day) as first_date,
        max(last_day) as last_date
    from (
        select cast(min(ordered_at) as date) as first_day, cast(max(ordered_at) as date) as last_day
        from {{ ref('stg_oltp__orders') }}
        union all
        select cast(min(occurred_at) as date) as first_day, cast(max(occurred_at) as date) as last_day
        from {{ ref('stg_oltp__inventory_ledger') }}
    ) as days

),

days as (

    {{ date_series("(select first_date from bounds)", add_days("(select last_date from bounds)", 365)) }}

)

select
    d.date_day,
    {{ day_of_week('d.date_day') }} as day_of_week,
    {{ month_of('d.date_day') }} as month,
    {{ year_of('d.date_day') }} as year,
    cast(extract(quarter from d.date_day) as integer) as quarter,
    cast(extract(day from d.date_day) as integer) as day_of_month,
    cast({{ dbt.date_trunc('week', 'd.date_day') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'd.date_day') }} as date) as month_start,
    {{ day_of_week('d.date_day') }} >= 5 as is_weekend,
    h.holiday_name is not null as is_holiday,
    h.holiday_name
from days as d
left join {{ ref('holidays') }} as h
    on {{ month_of('d.date_day') }} = h.month and cast(extract(day from d.date_day) as integer) = h.day
