with source as (

    select * from {{ source('oltp', 'receipt_lines') }}

),

renamed as (

    select
        cast(id as bigint) as receipt_line_id,
        cast(receipt_id as bigint) as receipt_id,
        cast(item_id as bigint) as item_id,
        cast(lot_id as bigint) as lot_id,
        cast(location_id as bigint) as location_id,
        cast(quantity as integer) as quantity,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
