-- Each shipment with its carrier service, lane and tracking milestones (OLTP tracking events and carrier feed
-- scans matched on the tracking number).
-- Defined once in macros/shipments_joined_to_milestones.sql (fct_shipments filters it to changed shipments).
{{ shipments_joined_to_milestones() }}
