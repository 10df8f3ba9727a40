with source as (

    select * from {{ source('oltp', 'shipment_lines') }}

),

renamed as (

    select
        cast(id as bigint) as shipment_line_id,
        cast(shipment_id as bigint) as shipment_id,
        cast(order_line_id as bigint) as order_line_id,
        cast(item_id as bigint) as item_id,
        cast(lot_id as bigint) as lot_id,
        cast(quantity as integer) as quantity,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
