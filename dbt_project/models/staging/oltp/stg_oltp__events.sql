with source as (

    select * from {{ source('oltp', 'events') }}

),

renamed as (

    select
        cast(id as bigint) as event_id,
        aggregate_type as aggregate_type,
        cast(aggregate_id as bigint) as aggregate_id,
        event_type as event_type,
        payload as payload,
        {{ to_utc('occurred_at') }} as occurred_at,
        {{ to_utc('recorded_at') }} as recorded_at,
        cast(txid as bigint) as txid,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
