with source as (

    select * from {{ source('oltp', 'lane_rates') }}

),

renamed as (

    select
        cast(id as bigint) as lane_rate_id,
        cast(carrier_service_id as bigint) as carrier_service_id,
        cast(origin_warehouse_id as bigint) as origin_warehouse_id,
        destination_region as destination_region,
        cast(base_rate as numeric(18, 4)) as base_rate,
        cast(rate_per_kg as numeric(18, 4)) as rate_per_kg,
        cast(transit_days as integer) as transit_days,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
