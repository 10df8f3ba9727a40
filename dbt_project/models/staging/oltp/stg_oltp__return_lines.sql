with source as (

    select * from {{ source('oltp', 'return_lines') }}

),

renamed as (

    select
        cast(id as bigint) as return_line_id,
        cast(return_id as bigint) as return_id,
        cast(order_line_id as bigint) as order_line_id,
        cast(item_id as bigint) as item_id,
        cast(quantity as integer) as quantity,
        disposition as disposition,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
