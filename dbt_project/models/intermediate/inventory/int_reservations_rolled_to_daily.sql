-- Net change of reserved units of each item in each warehouse per day, from the lifecycle of every reservation
-- (sparse: only days with a change). Reservations are not ledger movements: a reservation holds stock from its
-- allocation until it is picked (each pick task releases what it picked), released or cancelled.
--
-- Allocation time: the reservation's created_at when it is plausible, i.e. not after its first pick. Histories
-- written in bulk or imported carry the load time in created_at (after the picks); there the true allocation time
-- is unknown (anywhere between the order and the pick, possibly when stock arrived for a backorder), and the first
-- pick stands in: such a history shows no reserved units at past day ends rather than units reserved before they
-- were on hand. Closing time: the last pick for picked reservations,
-- updated_at for released and cancelled ones; whatever a closed reservation did not pick is released then.
-- Changes dated after the history's last day (a reservation created at load time and still active) are moved onto
-- that day by fct_inventory_daily, so the latest day carries the current reservations.
with reservations as (

    select * from {{ ref('stg_oltp__reservations') }}

),

balances as (

    select balance_id, item_id, warehouse_id, _ingested_at
    from {{ ref('stg_oltp__inventory_balances') }}

),

picks as (

    select reservation_id, picked_at, quantity_picked, _ingested_at
    from {{ ref('stg_oltp__pick_tasks') }}
    where reservation_id is not null and picked_at is not null and quantity_picked > 0

),

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
        b.item_id,
        b.warehouse_id,
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
        greatest(r._ingested_at, b._ingested_at, coalesce(p._ingested_at, r._ingested_at)) as _ingested_at
    from reservations as r
    inner join balances as b on r.balance_id = b.balance_id
    left join pick_totals as p on r.reservation_id = p.reservation_id

),

changes as (

    -- Allocated.
    select item_id, warehouse_id, cast(reserved_at as date) as change_date, quantity as reserved_change, _ingested_at
    from spans

    union all

    -- Each pick releases what it picked (never before the allocation).
    select
        s.item_id,
        s.warehouse_id,
        cast(greatest(pk.picked_at, s.reserved_at) as date) as change_date,
        -pk.quantity_picked as reserved_change,
        s._ingested_at
    from spans as s
    inner join picks as pk on s.reservation_id = pk.reservation_id

    union all

    -- A closed reservation releases what its picks did not take.
    select
        item_id,
        warehouse_id,
        cast(greatest(closed_at, reserved_at) as date) as change_date,
        -(quantity - quantity_picked_by_tasks) as reserved_change,
        _ingested_at
    from spans
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
