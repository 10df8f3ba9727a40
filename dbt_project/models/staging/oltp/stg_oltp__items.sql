with source as (

    select * from {{ source('oltp', 'items') }}

),

renamed as (

    select
        cast(id as bigint) as item_id,
        code as code,
        name as name,
        category as category,
        family as family,
        cast(unit_length_cm as double precision) as unit_length_cm,
        cast(unit_width_cm as double precision) as unit_width_cm,
        cast(unit_height_cm as double precision) as unit_height_cm,
        cast(unit_weight_kg as double precision) as unit_weight_kg,
        cast(unit_cost as numeric(18, 4)) as unit_cost,
        cast(list_price as numeric(18, 4)) as list_price,
        cast(shelf_life_days as integer) as shelf_life_days,
        temperature_class as temperature_class,
        cast(is_hazmat as boolean) as is_hazmat,
        cast(is_serialised as boolean) as is_serialised,
        cast(supplier_id as bigint) as supplier_id,
        cast(min_order_qty as integer) as min_order_qty,
        cast(order_multiple as integer) as order_multiple,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
