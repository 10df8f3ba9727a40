{%- set month = "cast(" ~ dbt.date_trunc('month', 'picked_up_at') ~ " as date)" %}
{{ config(**watermarked_mart_config('month_start')) }}
-- Lane (origin warehouse -> destination region) performance per carrier service and pickup month, next to the
-- simulator's true transit distribution when there is one. Incremental by pickup month
-- (macros/incremental_periods.sql): the months of the shipments recomputed since the last run.
with shipments as (

    select * from {{ ref('fct_shipments') }}
    where picked_up_at is not null and carrier_id is not null and {{ in_refreshed_periods(month, ref('fct_shipments')) }}

),

lanes as (

    select
        origin_warehouse,
        destination_region,
        lane,
        carrier,
        carrier_service,
        {{ month }} as month_start,
        count(*) as shipments,
        sum(case when is_delivered then 1 else 0 end) as shipments_delivered,
        sum(case when is_on_time then 1 else 0 end) * 1.0 / nullif(sum(case when is_delivered then 1 else 0 end), 0)
            as on_time_rate,
        avg(transit_days) as avg_transit_days,
        {{ stddev('transit_days') }} as sd_transit_days,
        max(promised_transit_days) as promised_transit_days,
        sum(cost) / nullif(cast(sum(weight_kg) as numeric(18, 4)), 0) as cost_per_kg,
        sum(cost) as total_cost,
        max(_ingested_at) as _ingested_at
    from shipments
    group by
        origin_warehouse,
        destination_region,
        lane,
        carrier,
        carrier_service,
        {{ month }}

)

select
    l.*,
    t.mean_transit_days as expected_transit_days,
    t.reliability as expected_reliability,
    {{ inputs_watermark([ref('fct_shipments')]) }} as _watermark
from lanes as l
left join {{ ref('stg_sim__lane_transit') }} as t
    on
        l.carrier = t.carrier
        and l.carrier_service = t.service
        and l.origin_warehouse = t.origin_warehouse
        and l.destination_region = t.destination_region
