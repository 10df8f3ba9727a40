-- Pick velocity of every item in every pick location over the trailing window (for slotting).
{%- set window = var('pick_velocity_window_days') %}
with picks as (

    select * from {{ ref('stg_oltp__pick_tasks') }}
    where picked_at is not null and quantity_picked > 0

),

-- From staging itself, not from `picks`: a CTE referenced twice is materialised whole by PostgreSQL.
as_of as (

    select cast(max(picked_at) as date) as as_of_date
    from {{ ref('stg_oltp__pick_tasks') }}
    where picked_at is not null and quantity_picked > 0

),

recent as (

    select * from picks
    where cast(picked_at as date) > {{ add_days("(select as_of_date from as_of)", -window) }}

),

velocity as (

    select
        item_id,
        location_id,
        count(*) as pick_count,
        sum(quantity_picked) as units_picked,
        count(distinct order_line_id) as order_lines_picked,
        max(picked_at) as last_picked_at
    from recent
    group by item_id, location_id

)

select
    v.item_id,
    v.location_id,
    i.code as item,
    l.warehouse_id,
    w.code as warehouse,
    l.code as location,
    v.pick_count,
    v.units_picked,
    v.order_lines_picked,
    v.pick_count * 1.0 / {{ window }} as picks_per_day,
    v.units_picked * 1.0 / {{ window }} as units_per_day,
    v.last_picked_at,
    rank() over (partition by l.warehouse_id order by v.pick_count desc, v.item_id, v.location_id) as velocity_rank,
    case
        when sum(v.pick_count) over (
            partition by l.warehouse_id order by v.pick_count desc, v.item_id, v.location_id
            rows between unbounded preceding and 1 preceding
        ) is null then 'A'
        when sum(v.pick_count) over (
            partition by l.warehouse_id order by v.pick_count desc, v.item_id, v.location_id
            rows between unbounded preceding and 1 preceding
        ) * 1.0 / sum(v.pick_count) over (partition by l.warehouse_id) < {{ var('abc_a_share') }} then 'A'
        when sum(v.pick_count) over (
            partition by l.warehouse_id order by v.pick_count desc, v.item_id, v.location_id
            rows between unbounded preceding and 1 preceding
        ) * 1.0 / sum(v.pick_count) over (partition by l.warehouse_id) < {{ var('abc_b_share') }} then 'B'
        else 'C'
    end as velocity_class,
    {{ window }} as window_days
from velocity as v
inner join {{ ref('stg_oltp__items') }} as i on v.item_id = i.item_id
inner join {{ ref('stg_oltp__locations') }} as l on v.location_id = l.location_id
inner join {{ ref('stg_oltp__warehouses') }} as w on l.warehouse_id = w.warehouse_id
