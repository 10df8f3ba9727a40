{%- set pg_indexes = [
    {'columns': ['inventory_date']}, {'columns': ['item_id', 'warehouse_id', 'inventory_date']}, {'columns': ['_ingested_at']},
] if target.type == 'postgres' else [] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['item_id', 'warehouse_id', 'inventory_date'],
        on_schema_change='append_new_columns',
        indexes=pg_indexes,
    )
}}
-- depends_on: {{ ref('stg_oltp__tombstones') }}, {{ ref('stg_oltp__inventory_ledger') }}, {{ ref('stg_oltp__inventory_balances') }}
-- depends_on: {{ ref('stg_oltp__reservations') }}, {{ ref('stg_oltp__pick_tasks') }}, {{ ref('int_reservations_rolled_to_daily') }}
-- depends_on: {{ ref('int_reservations_dated') }}
-- Daily inventory position of every item in every warehouse. On hand is the running sum of the ledger (the only
-- thing that moves stock); reserved is the sum of the reservations open at the end of the day (their lifecycle,
-- int_reservations_rolled_to_daily), never a running sum of ledger movements. Reservation changes dated after the
-- last day of the history (the as-of date) count on that day, so the latest row carries the current reservations.
-- Incremental: recomputes every day from the earliest day touched by newly ingested movements, reservations, picks
-- or demand (always including the previous as-of day, which held "current" reservations), starting from the stored
-- on hand of the day before. Only the history that can matter from there on is read: movements and demand from the
-- start of the trailing demand window, and the reservations active on or after the start date (int_reservations_dated;
-- every other reservation was closed before it, so it adds nothing to any recomputed day). Reserved is
-- recomputed from those reservations' whole lifecycle (no stored opening, so a late change can never drift).
-- Earlier days are kept.
{%- set window = var('days_of_supply_window_days') %}
{%- set since = watermark() %}

{%- if is_incremental() %}
{#- The day the incremental run recomputes from, computed first and written into the model as a literal: PostgreSQL
    plans a comparison with a subquery as a third of the table (hash joins over every reservation and pick task,
    spilling to disk) where with the date it estimates the few rows it finds. -#}
{%- set start_ctes %}
new_ledger as (

    select item_id, warehouse_id, cast(occurred_at as date) as movement_date
    from {{ ref('stg_oltp__inventory_ledger') }}
    where _ingested_at > {{ since }}

),

-- Orders whose demand may have changed: the order or one of its lines was ingested after the watermark.
new_demand as (

    select item_id, warehouse_id, cast(ordered_at as date) as demand_date
    from {{ ref('stg_oltp__order_lines') }} as l
    inner join {{ ref('stg_oltp__orders') }} as o on l.order_id = o.order_id
    where o.warehouse_id is not null
        and o.order_id in (
            select order_id from {{ ref('stg_oltp__orders') }} where _ingested_at > {{ since }}
            union
            select order_id from {{ ref('stg_oltp__order_lines') }} where _ingested_at > {{ since }}
        )

),

-- Reservations changed since the watermark (re-ingested, or one of their picks was): their earliest change is their
-- allocation. Only those of a known balance count (the others change no position).
new_reservations as (

    select cast(reserved_at as date) as change_date
    from {{ ref('int_reservations_dated') }}
    where _ingested_at > {{ since }}
        and balance_id in (select balance_id from {{ ref('stg_oltp__inventory_balances') }})

),

previous as (

    select max(inventory_date) as as_of_date from {{ this }}

),

start_date as (

    select least(
        (select as_of_date from previous),
        coalesce((select min(movement_date) from new_ledger), cast('9999-12-31' as date)),
        coalesce((select min(demand_date) from new_demand), cast('9999-12-31' as date)),
        coalesce((select min(change_date) from new_reservations), cast('9999-12-31' as date)),
        -- A balance that reached bronze after reservations referring to it (each table has its own snapshot)
        -- makes those reservations visible now; it was created after the previous run's snapshot of balances, so
        -- on or after the day before the previous as-of date, and so were they.
        coalesce(
            (
                select min(cast(created_at as date))
                from {{ ref('stg_oltp__inventory_balances') }}
                where _ingested_at > {{ since }}
                    and created_at >= {{ add_days("(select as_of_date from previous)", -1) }}
            ),
            cast('9999-12-31' as date)
        ),
        -- Deleted orders, ledger entries, reservations and picks: recompute from the day they were about.
        coalesce(
            (
                select min(coalesce(t.event_date, cast(o.ordered_at as date)))
                from {{ ref('stg_oltp__tombstones') }} as t
                left join {{ ref('stg_oltp__orders') }} as o on t.order_id = o.order_id
                where t._ingested_at > {{ since }}
                    and t.source_table in ('orders', 'order_lines', 'inventory_ledger', 'reservations', 'pick_tasks')
            ),
            cast('9999-12-31' as date)
        )
    ) as start_date

)
{%- endset %}
{%- endif %}
{%- set start = "(select start_date from start_date)" %}
{%- if is_incremental() and execute and this is not string and load_relation(this) is not none %}
{%- set start_value = run_query("with " ~ start_ctes ~ " select start_date from start_date").columns[0].values()[0] %}
{%- if start_value is not none %}{% set start = "cast('" ~ start_value ~ "' as date)" %}{% endif %}
{%- endif %}

with
{%- if is_incremental() %}

{{ start_ctes }},

-- The reservations whose lifecycle can touch a day from the start date on: open, or changed on or after it.
reservations_in_scope as (

    select * from {{ ref('int_reservations_dated') }}
    where active_until_date >= {{ start }}

),

reservation_changes as (

    {{ reservations_rolled_to_daily(
        'select reservation_id from reservations_in_scope', spans='select * from reservations_in_scope'
    ) }}

),
{%- else %}

reservation_changes as (

    select * from {{ ref('int_reservations_rolled_to_daily') }}

),
{%- endif %}

-- Movements and demand: from the start of the trailing demand window before the start date on.
movements as (

    select * from {{ ref('int_inventory_movements_rolled_to_daily') }}
    {%- if is_incremental() %}
    where movement_date >= {{ add_days(start, -(window - 1)) }}
    {%- endif %}

),

demand_lines as (

    select
        l.item_id,
        o.warehouse_id,
        cast(o.ordered_at as date) as demand_date,
        l.quantity_ordered - l.quantity_cancelled as quantity,
        greatest(l._ingested_at, o._ingested_at) as _ingested_at
    from {{ ref('stg_oltp__order_lines') }} as l
    inner join {{ ref('stg_oltp__orders') }} as o on l.order_id = o.order_id
    where o.warehouse_id is not null
    {%- if is_incremental() %}
        and o.ordered_at >= {{ add_days(start, -(window - 1)) }}
    {%- endif %}

),

demand as (

    select
        item_id,
        warehouse_id,
        demand_date,
        sum(quantity) as demand_quantity,
        max(_ingested_at) as _ingested_at
    from demand_lines
    group by item_id, warehouse_id, demand_date

),

-- The as-of date and each pair's first day: an incremental run adds what it ingested to what it stored.
as_of as (

    select max(d) as as_of_date
    from (
        {%- if is_incremental() %}
        select as_of_date as d from previous
        union all
        {%- endif %}
        select max(movement_date) as d from {{ 'new_ledger' if is_incremental() else 'movements' }}
        union all
        select max(demand_date) as d from {{ 'new_demand' if is_incremental() else 'demand' }}
    ) as bounds

),

pairs as (

    select item_id, warehouse_id, min(first_date) as first_date
    from (
        {%- if is_incremental() %}
        select item_id, warehouse_id, min(inventory_date) as first_date from {{ this }} group by item_id, warehouse_id
        union all
        {%- endif %}
        select item_id, warehouse_id, min(movement_date) as first_date
        from {{ 'new_ledger' if is_incremental() else 'movements' }}
        group by item_id, warehouse_id
        union all
        select item_id, warehouse_id, min(demand_date) as first_date
        from {{ 'new_demand' if is_incremental() else 'demand' }}
        group by item_id, warehouse_id
    ) as firsts
    group by item_id, warehouse_id

),
{%- if not is_incremental() %}

start_date as (

    select min(first_date) as start_date from pairs

),
{%- endif %}

-- Days needed: from the start date, plus the trailing demand window before it.
calendar as (

    {{ date_series(
        add_days(start, -(window - 1)),
        "(select as_of_date from as_of)"
    ) }}

),

grid as (

    select p.item_id, p.warehouse_id, c.date_day as inventory_date
    from pairs as p
    inner join calendar as c on c.date_day >= p.first_date

),

opening as (

    {%- if is_incremental() %}
    select item_id, warehouse_id, on_hand as opening_on_hand
    from {{ this }}
    where inventory_date = {{ add_days(start, -1) }}
    {%- else %}
    select item_id, warehouse_id, 0 as opening_on_hand
    from pairs
    where false
    {%- endif %}

),

-- Reservation changes on their day, or on the as-of date when later.
reserved_daily as (

    select
        item_id,
        warehouse_id,
        case
            when change_date > (select as_of_date from as_of) then (select as_of_date from as_of) else change_date
        end as change_date,
        reserved_change,
        _ingested_at
    from reservation_changes

),

-- Units reserved at the end of the day before the start date, from the whole reservation history.
opening_reserved as (

    select item_id, warehouse_id, sum(reserved_change) as opening_reserved
    from reserved_daily
    where change_date < {{ start }}
    group by item_id, warehouse_id

),

reserved_in_scope as (

    select item_id, warehouse_id, change_date, sum(reserved_change) as reserved_change, max(_ingested_at) as _ingested_at
    from reserved_daily
    where change_date >= {{ start }}
    group by item_id, warehouse_id, change_date

),

daily as (

    select
        g.item_id,
        g.warehouse_id,
        g.inventory_date,
        coalesce(m.received_quantity, 0) as received_quantity,
        coalesce(m.issued_quantity, 0) as issued_quantity,
        coalesce(m.returned_quantity, 0) as returned_quantity,
        coalesce(m.adjusted_quantity, 0) as adjusted_quantity,
        -- Movements before the start date are already in the opening position.
        case when g.inventory_date >= {{ start }} then coalesce(m.net_change, 0) else 0 end
            as net_change_in_scope,
        case when g.inventory_date >= {{ start }} then coalesce(r.reserved_change, 0) else 0 end
            as reserved_change_in_scope,
        coalesce(m.net_change, 0) as net_change,
        coalesce(d.demand_quantity, 0) as demand_quantity,
        nullif(
            greatest(
                coalesce(m._ingested_at, cast('1900-01-01' as timestamp)),
                coalesce(d._ingested_at, cast('1900-01-01' as timestamp)),
                coalesce(r._ingested_at, cast('1900-01-01' as timestamp))
            ),
            cast('1900-01-01' as timestamp)
        ) as _ingested_at
    from grid as g
    left join movements as m
        on g.item_id = m.item_id and g.warehouse_id = m.warehouse_id and g.inventory_date = m.movement_date
    left join demand as d
        on g.item_id = d.item_id and g.warehouse_id = d.warehouse_id and g.inventory_date = d.demand_date
    left join reserved_in_scope as r
        on g.item_id = r.item_id and g.warehouse_id = r.warehouse_id and g.inventory_date = r.change_date

),

positions as (

    select
        daily.*,
        coalesce(o.opening_on_hand, 0) + sum(net_change_in_scope) over (
            partition by daily.item_id, daily.warehouse_id order by inventory_date rows unbounded preceding
        ) as on_hand,
        coalesce(orv.opening_reserved, 0) + sum(reserved_change_in_scope) over (
            partition by daily.item_id, daily.warehouse_id order by inventory_date rows unbounded preceding
        ) as reserved,
        avg(cast(demand_quantity as double precision)) over (
            partition by daily.item_id, daily.warehouse_id
            order by inventory_date rows between {{ window - 1 }} preceding and current row
        ) as avg_daily_demand,
        max(_ingested_at) over (
            partition by daily.item_id, daily.warehouse_id order by inventory_date rows unbounded preceding
        ) as _running_ingested_at
    from daily
    left join opening as o on daily.item_id = o.item_id and daily.warehouse_id = o.warehouse_id
    left join opening_reserved as orv on daily.item_id = orv.item_id and daily.warehouse_id = orv.warehouse_id

)

select
    p.inventory_date,
    p.item_id,
    p.warehouse_id,
    i.code as item,
    w.code as warehouse,
    p.on_hand - p.net_change as opening_on_hand,
    p.received_quantity,
    p.issued_quantity,
    p.returned_quantity,
    p.adjusted_quantity,
    p.net_change,
    p.on_hand,
    p.reserved,
    p.on_hand - p.reserved as available,
    p.demand_quantity,
    p.avg_daily_demand,
    {{ days_of_supply("cast(p.on_hand as double precision)", "p.avg_daily_demand") }} as days_of_supply,
    (p.on_hand - p.reserved) <= 0 as is_out_of_stock,
    p.on_hand * i.unit_cost as inventory_value,
    coalesce(p._running_ingested_at, (select max(_ingested_at) from movements)) as _ingested_at,
    {{ run_timestamp() }} as _computed_at
from positions as p
inner join {{ ref('stg_oltp__items') }} as i on p.item_id = i.item_id
inner join {{ ref('stg_oltp__warehouses') }} as w on p.warehouse_id = w.warehouse_id
where p.inventory_date >= {{ start }}
