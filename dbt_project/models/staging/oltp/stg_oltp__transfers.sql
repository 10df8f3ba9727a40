with source as (

    select * from {{ source('oltp', 'transfers') }}

),

renamed as (

    select
        cast(id as bigint) as transfer_id,
        transfer_number as transfer_number,
        cast(from_warehouse_id as bigint) as from_warehouse_id,
        cast(to_warehouse_id as bigint) as to_warehouse_id,
        status as status,
        {{ to_utc('shipped_at') }} as shipped_at,
        {{ to_utc('received_at') }} as received_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
