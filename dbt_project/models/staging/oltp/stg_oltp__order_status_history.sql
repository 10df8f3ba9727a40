with source as (

    select * from {{ source('oltp', 'order_status_history') }}

),

renamed as (

    select
        cast(id as bigint) as status_change_id,
        cast(order_id as bigint) as order_id,
        from_status as from_status,
        to_status as to_status,
        {{ to_utc('changed_at') }} as changed_at,
        reason as reason,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
