{%- set month = "cast(" ~ dbt.date_trunc('month', 'picked_up_at') ~ " as date)" %}
{{ config(**watermarked_mart_config('month_start')) }}
-- Carrier performance per carrier, service and pickup month. Incremental by pickup month
-- (macros/incremental_periods.sql): the months of the shipments recomputed since the last run.
select
    carrier_id,
    carrier,
    carrier_service_id,
    carrier_service,
    {{ month }} as month_start,
    count(*) as shipments,
    sum(case when is_delivered then 1 else 0 end) as shipments_delivered,
    sum(case when is_on_time then 1 else 0 end) as shipments_on_time,
    sum(case when is_on_time then 1 else 0 end) * 1.0 / nullif(sum(case when is_delivered then 1 else 0 end), 0)
        as on_time_rate,
    avg(transit_days) as avg_transit_days,
    percentile_cont(0.9) within group (order by transit_days) as p90_transit_days,
    avg(delay_days) as avg_delay_days,
    sum(cost) as total_cost,
    sum(weight_kg) as total_weight_kg,
    sum(cost) / nullif(cast(sum(weight_kg) as numeric(18, 4)), 0) as cost_per_kg,
    sum(exception_event_count) as exception_events,
    max(_ingested_at) as _ingested_at,
    {{ inputs_watermark([ref('fct_shipments')]) }} as _watermark
from {{ ref('fct_shipments') }}
where picked_up_at is not null and carrier_id is not null and {{ in_refreshed_periods(month, ref('fct_shipments')) }}
group by
    carrier_id,
    carrier,
    carrier_service_id,
    carrier_service,
    {{ month }}
