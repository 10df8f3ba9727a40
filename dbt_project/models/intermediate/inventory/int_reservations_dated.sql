{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='reservation_id',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['reservation_id']}, {'columns': ['active_until_date']}] if target.type == 'postgres' else [],
        pre_hook="{{ delete_tombstoned('reservation_id', ['reservations'], 'row_id') }}",
    )
}}
-- depends_on: {{ ref('stg_oltp__tombstones') }}
-- One row per reservation: its lifecycle (macros/reservations_rolled_to_daily.sql) and the last day it changes
-- reserved units (active_until_date; far future while it is open). fct_inventory_daily recomputes reserved units
-- from a start date on from the reservations active until then, found here by one range condition: their lifecycle
-- cannot be told from created_at and updated_at, which histories loaded in bulk stamp with the load time, and
-- working it out from the pick tasks read every reservation and every pick on each run.
-- Incremental: the reservations ingested since the watermark, those with pick tasks ingested since, and those of
-- order lines with a deleted pick task are recomputed (delete+insert); deleted reservations are deleted (pre-hook).
{%- set since = watermark() %}

with
{%- if is_incremental() %}

changed_reservations as (

    select reservation_id from {{ ref('stg_oltp__reservations') }} where _ingested_at > {{ since }}
    union
    select reservation_id from {{ ref('stg_oltp__pick_tasks') }}
    where reservation_id is not null and _ingested_at > {{ since }}
    union
    select reservation_id from {{ ref('stg_oltp__reservations') }}
    where order_line_id in (
        select order_line_id from {{ ref('stg_oltp__tombstones') }}
        where source_table = 'pick_tasks' and order_line_id is not null and _ingested_at > {{ since }}
    )

),

{{ reservation_span_ctes('select reservation_id from changed_reservations') }}
{%- else %}

{{ reservation_span_ctes() }}
{%- endif %}

select
    reservation_id,
    balance_id,
    status,
    quantity,
    quantity_picked_by_tasks,
    reserved_at,
    closed_at,
    last_picked_at,
    case
        when closed_at is null then cast('9999-12-31' as date)
        else cast(greatest(reserved_at, closed_at, coalesce(last_picked_at, reserved_at)) as date)
    end as active_until_date,
    _ingested_at
from spans
