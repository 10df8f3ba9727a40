with source as (

    select * from {{ source('oltp', 'transfer_lines') }}

),

renamed as (

    select
        cast(id as bigint) as transfer_line_id,
        cast(transfer_id as bigint) as transfer_id,
        cast(item_id as bigint) as item_id,
        cast(quantity as integer) as quantity,
        cast(quantity_shipped as integer) as quantity_shipped,
        cast(quantity_received as integer) as quantity_received,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
