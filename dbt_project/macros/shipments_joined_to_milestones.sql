{#- The one definition of int_shipments_joined_to_milestones. `shipment_ids` (a subquery of shipment ids) restricts
    every input CTE to those shipments: the incremental fct_shipments computes only the changed shipments. -#}
{% macro shipments_joined_to_milestones(shipment_ids=none) -%}
-- Each shipment with its carrier service, lane and tracking milestones (OLTP tracking events and carrier feed
-- scans matched on the tracking number).
with shipments as (

    select * from {{ ref('stg_oltp__shipments') }}
    {%- if shipment_ids %}
    where shipment_id in ({{ shipment_ids }})
    {%- endif %}

),

events as (

    select shipment_id, event_type, occurred_at, _ingested_at
    from {{ ref('stg_oltp__tracking_events') }}
    {%- if shipment_ids %}
    where shipment_id in (select shipment_id from shipments)
    {%- endif %}
    union all
    select s.shipment_id, f.event_type, f.occurred_at, f._ingested_at
    from {{ ref('stg_feeds__tracking_events') }} as f
    inner join shipments as s on f.tracking_number = s.tracking_number

),

milestones as (

    select
        shipment_id,
        min(case when event_type = 'picked_up' then occurred_at end) as first_pickup_scan_at,
        min(case when event_type = 'out_for_delivery' then occurred_at end) as out_for_delivery_at,
        min(case when event_type = 'delivered' then occurred_at end) as delivered_scan_at,
        min(occurred_at) as first_scan_at,
        max(occurred_at) as last_scan_at,
        count(*) as tracking_event_count,
        sum(case when event_type = 'delayed' then 1 else 0 end) as delay_event_count,
        sum(case when event_type = 'exception' then 1 else 0 end) as exception_event_count,
        max(_ingested_at) as _ingested_at
    from events
    group by shipment_id

)

select
    s.shipment_id,
    s.shipment_number,
    s.order_id,
    s.transfer_id,
    s.warehouse_id,
    w.code as origin_warehouse,
    s.customer_id,
    s.destination_region,
    s.carrier_service_id,
    cs.code as carrier_service,
    cs.mode as service_mode,
    cs.promised_transit_days,
    c.carrier_id,
    c.code as carrier,
    s.tracking_number,
    s.status,
    s.planned_pickup_at,
    s.picked_up_at,
    s.promised_delivery_at,
    s.delivered_at,
    s.weight_kg,
    s.cost,
    m.first_scan_at,
    m.first_pickup_scan_at,
    m.out_for_delivery_at,
    m.delivered_scan_at,
    m.last_scan_at,
    coalesce(m.tracking_event_count, 0) as tracking_event_count,
    coalesce(m.delay_event_count, 0) as delay_event_count,
    coalesce(m.exception_event_count, 0) as exception_event_count,
    greatest(s._ingested_at, coalesce(m._ingested_at, s._ingested_at)) as _ingested_at
from shipments as s
inner join {{ ref('stg_oltp__warehouses') }} as w on s.warehouse_id = w.warehouse_id
left join {{ ref('stg_oltp__carrier_services') }} as cs on s.carrier_service_id = cs.carrier_service_id
left join {{ ref('stg_oltp__carriers') }} as c on cs.carrier_id = c.carrier_id
left join milestones as m on s.shipment_id = m.shipment_id
{%- endmacro %}
