with source as (

    select * from {{ source('oltp', 'dock_appointments') }}

),

renamed as (

    select
        cast(id as bigint) as dock_appointment_id,
        cast(warehouse_id as bigint) as warehouse_id,
        cast(dock_door_id as bigint) as dock_door_id,
        direction as direction,
        cast(purchase_order_id as bigint) as purchase_order_id,
        cast(shipment_id as bigint) as shipment_id,
        {{ to_utc('starts_at') }} as starts_at,
        {{ to_utc('ends_at') }} as ends_at,
        status as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
