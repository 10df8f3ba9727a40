{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('order_line_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'order_lines'), 'id', 'order_line_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'order_lines') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as order_line_id,
        cast(order_id as bigint) as order_id,
        cast(line_number as integer) as line_number,
        cast(item_id as bigint) as item_id,
        cast(quantity_ordered as integer) as quantity_ordered,
        cast(quantity_allocated as integer) as quantity_allocated,
        cast(quantity_picked as integer) as quantity_picked,
        cast(quantity_shipped as integer) as quantity_shipped,
        cast(quantity_backordered as integer) as quantity_backordered,
        cast(quantity_cancelled as integer) as quantity_cancelled,
        cast(unit_price as numeric(18, 4)) as unit_price,
        cast(is_promo as boolean) as is_promo,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
