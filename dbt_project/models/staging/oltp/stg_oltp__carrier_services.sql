with source as (

    select * from {{ source('oltp', 'carrier_services') }}

),

renamed as (

    select
        cast(id as bigint) as carrier_service_id,
        cast(carrier_id as bigint) as carrier_id,
        code as code,
        mode as mode,
        cast(promised_transit_days as integer) as promised_transit_days,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
