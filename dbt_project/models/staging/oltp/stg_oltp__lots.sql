with source as (

    select * from {{ source('oltp', 'lots') }}

),

renamed as (

    select
        cast(id as bigint) as lot_id,
        cast(item_id as bigint) as item_id,
        lot_code as lot_code,
        cast(expiry_date as date) as expiry_date,
        cast(received_on as date) as received_on,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
