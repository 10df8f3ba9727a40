with source as (

    select * from {{ source('oltp', 'locations') }}

),

renamed as (

    select
        cast(id as bigint) as location_id,
        cast(warehouse_id as bigint) as warehouse_id,
        cast(zone_id as bigint) as zone_id,
        code as code,
        cast(aisle as integer) as aisle,
        cast(bay as integer) as bay,
        cast(level as integer) as level,
        cast(x as double precision) as x,
        cast(y as double precision) as y,
        cast(z as double precision) as z,
        cast(volume_capacity_m3 as double precision) as volume_capacity_m3,
        cast(weight_capacity_kg as double precision) as weight_capacity_kg,
        location_type as location_type,
        cast(is_active as boolean) as is_active,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
