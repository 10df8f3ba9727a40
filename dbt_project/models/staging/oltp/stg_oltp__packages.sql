with source as (

    select * from {{ source('oltp', 'packages') }}

),

renamed as (

    select
        cast(id as bigint) as package_id,
        cast(shipment_id as bigint) as shipment_id,
        package_number as package_number,
        cast(weight_kg as double precision) as weight_kg,
        cast(volume_m3 as double precision) as volume_m3,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
