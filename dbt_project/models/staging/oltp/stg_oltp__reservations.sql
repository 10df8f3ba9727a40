{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='reservation_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('reservation_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'reservations'), 'id', 'reservation_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'reservations') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as reservation_id,
        cast(order_line_id as bigint) as order_line_id,
        cast(balance_id as bigint) as balance_id,
        cast(quantity as integer) as quantity,
        cast(quantity_picked as integer) as quantity_picked,
        status as status,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
