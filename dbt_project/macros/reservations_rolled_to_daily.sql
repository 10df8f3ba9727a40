{#- The pick tasks that took units of a reservation (of `reservation_ids` only, when given), as the CTE `picks`. -#}
{% macro reservation_picks_cte(reservation_ids=none) -%}
picks as (

    select reservation_id, picked_at, quantity_picked, _ingested_at
    from {{ ref('stg_oltp__pick_tasks') }}
    where reservation_id is not null and picked_at is not null and quantity_picked > 0
    {%- if reservation_ids %}
        and reservation_id in ({{ reservation_ids }})
    {%- endif %}

)
{%- endmacro %}

{#- The lifecycle of each reservation (one row per reservation), as the CTE `spans`: when it was reserved and closed,
    what its picks took and when it was last picked. Used by reservations_rolled_to_daily and int_reservations_dated.
    A reservation's balance only supplies item and warehouse, so it is not joined here. -#}
{% macro reservation_span_ctes(reservation_ids=none) -%}
reservations as (

    select * from {{ ref('stg_oltp__reservations') }}
    {%- if reservation_ids %}
    where reservation_id in ({{ reservation_ids }})
    {%- endif %}

),

{{ reservation_picks_cte(reservation_ids) }},

pick_totals as (

    select
        reservation_id,
        min(picked_at) as first_picked_at,
        max(picked_at) as last_picked_at,
        sum(quantity_picked) as quantity_picked,
        max(_ingested_at) as _ingested_at
    from picks
    group by reservation_id

),

spans as (

    select
        r.reservation_id,
        r.balance_id,
        r.status,
        r.quantity,
        least(coalesce(p.quantity_picked, 0), r.quantity) as quantity_picked_by_tasks,
        case
            when r.created_at <= coalesce(p.first_picked_at, r.created_at) then r.created_at
            else p.first_picked_at
        end as reserved_at,
        case
            when r.status = 'picked' then coalesce(p.last_picked_at, r.updated_at)
            when r.status in ('released', 'cancelled') then r.updated_at
        end as closed_at,
        p.last_picked_at,
        -- The balance's own ingestion is not a change of the reservation (balances are rewritten on every stock
        -- movement: counting them re-dated every reservation of a touched balance, so each incremental
        -- fct_inventory_daily recomputed all history).
        greatest(r._ingested_at, coalesce(p._ingested_at, r._ingested_at)) as _ingested_at
    from reservations as r
    left join pick_totals as p on r.reservation_id = p.reservation_id

)
{%- endmacro %}

{#- The one definition of int_reservations_rolled_to_daily. `reservation_ids` (a subquery of reservation ids)
    restricts the reservations and their pick tasks: the incremental fct_inventory_daily computes only the
    reservations that matter from its start date on, instead of the whole reservation history each run. `spans`
    (a query of int_reservations_dated rows of those reservations) takes their lifecycles as stored there instead of
    working them out again from every reservation and pick task. -#}
{% macro reservations_rolled_to_daily(reservation_ids=none, spans=none) -%}
with
{%- if spans %}
spans as (

    {{ spans }}

),

{{ reservation_picks_cte(reservation_ids) }},
{%- else %}
{{ reservation_span_ctes(reservation_ids) }},
{%- endif %}

balances as (

    select balance_id, item_id, warehouse_id
    from {{ ref('stg_oltp__inventory_balances') }}

),

located as (

    select s.*, b.item_id, b.warehouse_id
    from spans as s
    inner join balances as b on s.balance_id = b.balance_id

),

changes as (

    -- Allocated.
    select item_id, warehouse_id, cast(reserved_at as date) as change_date, quantity as reserved_change, _ingested_at
    from located

    union all

    -- Each pick releases what it picked (never before the allocation).
    select
        s.item_id,
        s.warehouse_id,
        cast(greatest(pk.picked_at, s.reserved_at) as date) as change_date,
        -pk.quantity_picked as reserved_change,
        s._ingested_at
    from located as s
    inner join picks as pk on s.reservation_id = pk.reservation_id

    union all

    -- A closed reservation releases what its picks did not take.
    select
        item_id,
        warehouse_id,
        cast(greatest(closed_at, reserved_at) as date) as change_date,
        -(quantity - quantity_picked_by_tasks) as reserved_change,
        _ingested_at
    from located
    where closed_at is not null and quantity > quantity_picked_by_tasks

)

select
    item_id,
    warehouse_id,
    change_date,
    sum(reserved_change) as reserved_change,
    max(_ingested_at) as _ingested_at
from changes
group by item_id, warehouse_id, change_date
{%- endmacro %}
