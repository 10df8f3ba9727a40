with source as (

    select * from {{ source('oltp', 'returns') }}

),

renamed as (

    select
        cast(id as bigint) as return_id,
        rma_number as rma_number,
        cast(order_id as bigint) as order_id,
        cast(warehouse_id as bigint) as warehouse_id,
        status as status,
        reason as reason,
        {{ to_utc('received_at') }} as received_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
