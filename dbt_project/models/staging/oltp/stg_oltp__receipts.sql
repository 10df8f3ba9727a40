with source as (

    select * from {{ source('oltp', 'receipts') }}

),

renamed as (

    select
        cast(id as bigint) as receipt_id,
        cast(purchase_order_id as bigint) as purchase_order_id,
        cast(transfer_id as bigint) as transfer_id,
        cast(warehouse_id as bigint) as warehouse_id,
        {{ to_utc('received_at') }} as received_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
