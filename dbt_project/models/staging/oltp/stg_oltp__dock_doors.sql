with source as (

    select * from {{ source('oltp', 'dock_doors') }}

),

renamed as (

    select
        cast(id as bigint) as dock_door_id,
        cast(warehouse_id as bigint) as warehouse_id,
        code as code,
        door_type as door_type,
        cast(is_reefer as boolean) as is_reefer,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
