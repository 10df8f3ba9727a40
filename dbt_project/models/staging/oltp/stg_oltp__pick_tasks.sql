{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='pick_task_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('pick_task_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'pick_tasks'), 'id', 'pick_task_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'pick_tasks') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as pick_task_id,
        cast(wave_id as bigint) as wave_id,
        cast(reservation_id as bigint) as reservation_id,
        cast(order_line_id as bigint) as order_line_id,
        cast(zone_id as bigint) as zone_id,
        cast(location_id as bigint) as location_id,
        cast(item_id as bigint) as item_id,
        cast(lot_id as bigint) as lot_id,
        cast(quantity as integer) as quantity,
        cast(quantity_picked as integer) as quantity_picked,
        status as status,
        {{ to_utc('picked_at') }} as picked_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
