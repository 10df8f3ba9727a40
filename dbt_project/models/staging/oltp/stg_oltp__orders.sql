{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('order_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'orders'), 'id', 'order_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'orders') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as order_id,
        order_number as order_number,
        cast(customer_id as bigint) as customer_id,
        cast(warehouse_id as bigint) as warehouse_id,
        channel as channel,
        cast(priority as integer) as priority,
        {{ to_utc('ordered_at') }} as ordered_at,
        cast(promised_date as date) as promised_date,
        status as status,
        idempotency_key as idempotency_key,
        request_hash as request_hash,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
