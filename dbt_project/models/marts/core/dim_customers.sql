with orders as (

    select
        customer_id,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        count(*) as order_count
    from {{ ref('stg_oltp__orders') }}
    group by customer_id

)

select
    c.customer_id,
    c.code as customer,
    c.name as customer_name,
    c.region,
    c.lat,
    c.lon,
    o.first_ordered_at,
    o.last_ordered_at,
    coalesce(o.order_count, 0) as order_count
from {{ ref('stg_oltp__customers') }} as c
left join orders as o on c.customer_id = o.customer_id
