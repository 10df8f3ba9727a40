with source as (

    select * from {{ source('oltp', 'purchase_orders') }}

),

renamed as (

    select
        cast(id as bigint) as purchase_order_id,
        po_number as po_number,
        cast(supplier_id as bigint) as supplier_id,
        cast(warehouse_id as bigint) as warehouse_id,
        status as status,
        source as source,
        {{ to_utc('ordered_at') }} as ordered_at,
        {{ to_utc('expected_at') }} as expected_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
