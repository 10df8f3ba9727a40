{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='shipment_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('shipment_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'shipments'), 'id', 'shipment_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'shipments') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as shipment_id,
        shipment_number as shipment_number,
        cast(order_id as bigint) as order_id,
        cast(transfer_id as bigint) as transfer_id,
        cast(warehouse_id as bigint) as warehouse_id,
        cast(customer_id as bigint) as customer_id,
        cast(carrier_service_id as bigint) as carrier_service_id,
        destination_region as destination_region,
        cast(destination_lat as double precision) as destination_lat,
        cast(destination_lon as double precision) as destination_lon,
        tracking_number as tracking_number,
        status as status,
        {{ to_utc('planned_pickup_at') }} as planned_pickup_at,
        {{ to_utc('picked_up_at') }} as picked_up_at,
        {{ to_utc('promised_delivery_at') }} as promised_delivery_at,
        {{ to_utc('delivered_at') }} as delivered_at,
        cast(weight_kg as double precision) as weight_kg,
        cast(cost as numeric(18, 4)) as cost,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
