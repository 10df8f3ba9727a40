{%- set pg_indexes = [{'columns': ['tracking_event_key']}, {'columns': ['_ingested_at']}] if target.type == 'postgres' else [] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='tracking_event_key',
        on_schema_change='append_new_columns',
        indexes=pg_indexes,
        pre_hook=[
            "{{ delete_tombstoned('tracking_event_key', ['tracking_events'], 'row_id', prefix='oltp-') }}",
            "{{ unmatch_feed_events_of_deleted_shipments() }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_oltp__tombstones') }}
-- Tracking events from the OLTP and from carrier feeds in one stream; feed scans are matched to shipments on the
-- tracking number (unmatched scans keep a null shipment_id).
{%- set since = watermark() %}
with oltp_events as (

    select
        'oltp-' || cast(tracking_event_id as varchar(32)) as tracking_event_key,
        'oltp' as event_source,
        t.shipment_id,
        s.tracking_number,
        c.code as carrier,
        t.event_type,
        t.occurred_at,
        t.location_text,
        t.lat,
        t.lon,
        t._ingested_at
    from {{ ref('stg_oltp__tracking_events') }} as t
    left join {{ ref('stg_oltp__shipments') }} as s on t.shipment_id = s.shipment_id
    left join {{ ref('stg_oltp__carrier_services') }} as cs on s.carrier_service_id = cs.carrier_service_id
    left join {{ ref('stg_oltp__carriers') }} as c on cs.carrier_id = c.carrier_id
    {%- if is_incremental() %}
    -- New events (by the `_ingested_at` index), and the events of changed shipments (tracking number or carrier
    -- service set later; one hash join of the events' shipment ids against the few changed shipments). Written as
    -- `t._ingested_at > x or s._ingested_at > x` across the join, PostgreSQL joined every event first.
    where t.tracking_event_id in (
        select tracking_event_id from {{ ref('stg_oltp__tracking_events') }} where _ingested_at > {{ since }}
        union
        select tracking_event_id from {{ ref('stg_oltp__tracking_events') }}
        where shipment_id in (select shipment_id from {{ ref('stg_oltp__shipments') }} where _ingested_at > {{ since }})
    )
    {%- endif %}

),

feed_events as (

    select
        'feed-' || f.feed_event_id as tracking_event_key,
        'feed' as event_source,
        s.shipment_id,
        f.tracking_number,
        f.carrier,
        f.event_type,
        f.occurred_at,
        f.location_text,
        f.lat,
        f.lon,
        f._ingested_at
    from {{ ref('stg_feeds__tracking_events') }} as f
    left join {{ ref('stg_oltp__shipments') }} as s on f.tracking_number = s.tracking_number
    {%- if is_incremental() %}
    -- New scans, and scans of shipments ingested since (a scan can arrive before its shipment: matched now).
    where f._ingested_at > {{ since }} or s._ingested_at > {{ since }}
    {%- endif %}

)

select * from oltp_events
union all
select * from feed_events
