with source as (

    select * from {{ source('feeds', 'telemetry') }}

),

renamed as (

    select
        device_id as device_id,
        device_type as device_type,
        reading_type as reading_type,
        warehouse as warehouse,
        zone as zone,
        shipment_number as shipment_number,
        {{ to_utc('ts') }} as reading_at,
        cast(temperature_c as double precision) as temperature_c,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        cast(speed_kmh as double precision) as speed_kmh,
        _source_file as source_file,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    where not coalesce(_is_deleted, false)

)

select * from renamed
