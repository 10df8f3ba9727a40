with source as (

    select * from {{ source('oltp', 'warehouses') }}

),

renamed as (

    select
        cast(id as bigint) as warehouse_id,
        code as code,
        name as name,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        region as region,
        cast(storage_capacity_m3 as double precision) as storage_capacity_m3,
        cast(throughput_capacity_units_per_day as double precision) as throughput_capacity_units_per_day,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
