with source as (

    select * from {{ source('oltp', 'customers') }}

),

renamed as (

    select
        cast(id as bigint) as customer_id,
        code as code,
        name as name,
        region as region,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
