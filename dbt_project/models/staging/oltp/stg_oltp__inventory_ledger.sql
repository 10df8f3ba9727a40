{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='ledger_entry_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('ledger_entry_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'inventory_ledger'), 'id', 'ledger_entry_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'inventory_ledger') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as ledger_entry_id,
        {{ to_utc('occurred_at') }} as occurred_at,
        cast(warehouse_id as bigint) as warehouse_id,
        cast(location_id as bigint) as location_id,
        cast(item_id as bigint) as item_id,
        cast(lot_id as bigint) as lot_id,
        cast(quantity_delta as integer) as quantity_delta,
        reason as reason,
        reference_type as reference_type,
        cast(reference_id as bigint) as reference_id,
        note as note,
        {{ to_utc('recorded_at') }} as recorded_at,
        cast(txid as bigint) as txid,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
