with source as (

    select * from {{ source('oltp', 'reservations') }}

),

renamed as (

    select
        cast(id as bigint) as reservation_id,
        cast(order_line_id as bigint) as order_line_id,
        cast(balance_id as bigint) as balance_id,
        cast(quantity as integer) as quantity,
        cast(quantity_picked as integer) as quantity_picked,
        status as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
