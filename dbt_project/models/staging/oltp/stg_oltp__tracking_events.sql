with source as (

    select * from {{ source('oltp', 'tracking_events') }}

),

renamed as (

    select
        cast(id as bigint) as tracking_event_id,
        cast(shipment_id as bigint) as shipment_id,
        event_type as event_type,
        {{ to_utc('occurred_at') }} as occurred_at,
        location_text as location_text,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        source as source,
        cast(external_id as bigint) as external_id,
        {{ to_utc('recorded_at') }} as recorded_at,
        cast(txid as bigint) as txid,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
