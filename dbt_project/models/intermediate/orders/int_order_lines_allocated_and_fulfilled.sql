-- Each order line with its order header and the timing of its allocation, pick, shipment and delivery.
-- Defined once in macros/order_lines_allocated_and_fulfilled.sql (fct_order_lines filters it to changed orders).
{{ order_lines_allocated_and_fulfilled() }}
