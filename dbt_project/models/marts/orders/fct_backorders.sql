-- Open backorders: order lines with units still backordered, with their age and value as of the latest order day.
with lines as (

    select * from {{ ref('fct_order_lines') }}

),

-- Read from the mart itself, not from `lines`: a CTE referenced twice is materialised whole by PostgreSQL (every
-- column of every line, ~3 s at 5M lines) where two plain scans cost a fraction.
as_of as (

    select max(order_date) as as_of_date from {{ ref('fct_order_lines') }}

)

select
    order_line_id,
    order_id,
    order_number,
    item_id,
    item,
    customer_id,
    customer,
    warehouse_id,
    warehouse,
    ordered_at,
    order_date,
    promised_date,
    quantity_ordered,
    quantity_backordered,
    quantity_backordered * unit_price as backorder_value,
    {{ days_between('order_date', '(select as_of_date from as_of)') }} as days_backordered,
    coalesce(promised_date < (select as_of_date from as_of), false) as is_past_promise
from lines
where quantity_backordered > 0 and order_status <> 'cancelled'
