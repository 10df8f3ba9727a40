with source as (

    select * from {{ source('oltp', 'purchase_order_lines') }}

),

renamed as (

    select
        cast(id as bigint) as purchase_order_line_id,
        cast(purchase_order_id as bigint) as purchase_order_id,
        cast(item_id as bigint) as item_id,
        cast(quantity_ordered as integer) as quantity_ordered,
        cast(quantity_received as integer) as quantity_received,
        cast(unit_cost as numeric(18, 4)) as unit_cost,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
