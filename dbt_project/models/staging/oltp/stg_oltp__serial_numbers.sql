with source as (

    select * from {{ source('oltp', 'serial_numbers') }}

),

renamed as (

    select
        cast(id as bigint) as serial_number_id,
        cast(item_id as bigint) as item_id,
        serial as serial,
        cast(lot_id as bigint) as lot_id,
        cast(location_id as bigint) as location_id,
        cast(shipment_id as bigint) as shipment_id,
        status as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
