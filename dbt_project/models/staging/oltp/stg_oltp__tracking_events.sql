{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='tracking_event_id',
        on_schema_change='append_new_columns',
        indexes=staging_indexes('tracking_event_id'),
        pre_hook="{{ delete_tombstoned_rows(source('oltp', 'tracking_events'), 'id', 'tracking_event_id') }}",
    )
}}
-- Incremental (see macros/incremental_staging.sql): only bronze rows ingested after this table's watermark are
-- read; they replace the stored rows of their key, and tombstoned rows are deleted by the pre-hook.
with source as (

    select * from {{ source('oltp', 'tracking_events') }}
    {{- where_ingested_after_watermark() }}

),

renamed as (

    select
        cast(id as bigint) as tracking_event_id,
        cast(shipment_id as bigint) as shipment_id,
        event_type as event_type,
        {{ to_utc('occurred_at') }} as occurred_at,
        location_text as location_text,
        cast(lat as double precision) as lat,
        cast(lon as double precision) as lon,
        source as source,
        external_id as external_id,
        {{ to_utc('recorded_at') }} as recorded_at,
        cast(txid as bigint) as txid,
        {{ to_utc('_ingested_at') }} as _ingested_at
    from source
    -- Tombstones mark rows deleted in the OLTP; they never reach the models.
    where not coalesce(_is_deleted, false)

)

select * from renamed
