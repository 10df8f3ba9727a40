with source as (

    select * from {{ source('oltp', 'freight_charges') }}

),

renamed as (

    select
        cast(id as bigint) as freight_charge_id,
        cast(shipment_id as bigint) as shipment_id,
        charge_type as charge_type,
        cast(amount as numeric(18, 4)) as amount,
        currency as currency,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
