with source as (

    select * from {{ source('oltp', 'carriers') }}

),

renamed as (

    select
        cast(id as bigint) as carrier_id,
        code as code,
        name as name,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
