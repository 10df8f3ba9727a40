with source as (

    select * from {{ source('oltp', 'pick_waves') }}

),

renamed as (

    select
        cast(id as bigint) as wave_id,
        cast(warehouse_id as bigint) as warehouse_id,
        {{ to_utc('released_at') }} as released_at,
        status as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
