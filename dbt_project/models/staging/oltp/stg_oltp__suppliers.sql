with source as (

    select * from {{ source('oltp', 'suppliers') }}

),

renamed as (

    select
        cast(id as bigint) as supplier_id,
        code as code,
        name as name,
        cast(lead_time_mean_days as double precision) as lead_time_mean_days,
        cast(lead_time_sd_days as double precision) as lead_time_sd_days,
        cast(capacity_units_per_week as double precision) as capacity_units_per_week,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
