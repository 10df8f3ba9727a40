{%- set pg_indexes = [{'columns': ['shipment_id']}, {'columns': ['_ingested_at']}] if target.type == 'postgres' else [] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='shipment_id',
        on_schema_change='append_new_columns',
        indexes=pg_indexes,
        pre_hook="{{ delete_tombstoned('shipment_id', ['shipments'], 'shipment_id') }}",
    )
}}
-- One row per shipment. Incremental: the shipments touched by bronze rows ingested after this table's watermark
-- (shipments, OLTP tracking events, feed scans, tombstones) are found from staging and only they are computed (the
-- filter is pushed into the input CTEs); deleted shipments are removed by the pre-hook.
-- depends_on: {{ ref('stg_oltp__shipments') }}, {{ ref('stg_oltp__tracking_events') }}, {{ ref('stg_feeds__tracking_events') }}
-- depends_on: {{ ref('stg_oltp__tombstones') }}, {{ ref('stg_oltp__warehouses') }}, {{ ref('stg_oltp__carrier_services') }}
-- depends_on: {{ ref('stg_oltp__carriers') }}
{%- set since = watermark() %}
with
{%- if is_incremental() %}

changed_shipments as (

    {{ changed_shipment_ids(since) }}

),

shipments as (

    {{ shipments_joined_to_milestones('select shipment_id from changed_shipments') }}

)
{%- else %}

shipments as (

    select * from {{ ref('int_shipments_joined_to_milestones') }}

)
{%- endif %}

select
    shipment_id,
    shipment_number,
    order_id,
    transfer_id,
    warehouse_id,
    origin_warehouse,
    destination_region,
    origin_warehouse || '->' || coalesce(destination_region, 'unknown') as lane,
    customer_id,
    carrier_id,
    carrier,
    carrier_service_id,
    carrier_service,
    service_mode,
    tracking_number,
    status,
    planned_pickup_at,
    picked_up_at,
    promised_delivery_at,
    delivered_at,
    promised_transit_days,
    {{ fractional_days_between('picked_up_at', 'delivered_at') }} as transit_days,
    delivered_at is not null as is_delivered,
    case
        when delivered_at is not null and promised_delivery_at is not null then delivered_at <= promised_delivery_at
    end as is_on_time,
    case
        when delivered_at is not null and promised_delivery_at is not null
            then greatest({{ fractional_days_between('promised_delivery_at', 'delivered_at') }}, 0)
    end as delay_days,
    weight_kg,
    cost,
    case when weight_kg > 0 then cost / cast(weight_kg as numeric(18, 4)) end as cost_per_kg,
    first_scan_at,
    out_for_delivery_at,
    last_scan_at,
    tracking_event_count,
    delay_event_count,
    exception_event_count,
    _ingested_at
from shipments
