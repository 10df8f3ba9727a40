with source as (

    select * from {{ source('feeds', 'tracking_events') }}

),

renamed as (

    select
        event_id as feed_event_id,
        carrier as carrier,
        tracking_number as tracking_number,
        event_type as event_type,
        {{ to_utc('occurred_at') }} as occurred_at,
        location as location_text,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        _source_file as source_file,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    where not coalesce(_is_deleted, false)

)

select * from renamed
