with source as (

    select * from {{ source('oltp', 'zones') }}

),

renamed as (

    select
        cast(id as bigint) as zone_id,
        cast(warehouse_id as bigint) as warehouse_id,
        code as code,
        temperature_class as temperature_class,
        cast(min_temp_c as double precision) as min_temp_c,
        cast(max_temp_c as double precision) as max_temp_c,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
