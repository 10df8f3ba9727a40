-- Ledger movements and reservation changes of each item in each warehouse, summed per day (sparse: only days
-- with a movement). fct_inventory_daily cumulates them into daily positions.
with ledger as (

    select
        item_id,
        warehouse_id,
        cast(occurred_at as date) as movement_date,
        quantity_delta,
        reason,
        _ingested_at
    from {{ ref('stg_oltp__inventory_ledger') }}

),

ledger_daily as (

    select
        item_id,
        warehouse_id,
        movement_date,
        sum(quantity_delta) as net_change,
        sum(case when reason in ('receipt', 'transfer_in') then quantity_delta else 0 end) as received_quantity,
        sum(case when reason in ('pick', 'ship', 'transfer_out') then -quantity_delta else 0 end) as issued_quantity,
        sum(case when reason = 'return_restock' then quantity_delta else 0 end) as returned_quantity,
        sum(
            case
                when reason in ('receipt', 'transfer_in', 'pick', 'ship', 'transfer_out', 'return_restock') then 0
                else quantity_delta
            end
        ) as adjusted_quantity,
        max(_ingested_at) as _ingested_at
    from ledger
    group by item_id, warehouse_id, movement_date

),

-- A reservation holds stock from its creation until it is picked, released or cancelled.
reservation_ends as (

    select
        reservation_id,
        min(picked_at) as picked_at
    from {{ ref('stg_oltp__pick_tasks') }}
    where picked_at is not null
    group by reservation_id

),

reservation_spans as (

    select
        r.quantity - r.quantity_picked as open_quantity,
        r.quantity as quantity,
        b.item_id,
        b.warehouse_id,
        cast(r.created_at as date) as start_date,
        case
            when r.status = 'picked' then cast(coalesce(e.picked_at, r.updated_at) as date)
            when r.status in ('released', 'cancelled') then cast(r.updated_at as date)
        end as end_date,
        greatest(r._ingested_at, b._ingested_at) as _ingested_at
    from {{ ref('stg_oltp__reservations') }} as r
    inner join {{ ref('stg_oltp__inventory_balances') }} as b on r.balance_id = b.balance_id
    left join reservation_ends as e on r.reservation_id = e.reservation_id

),

reservation_changes as (

    select item_id, warehouse_id, start_date as movement_date, quantity as reserved_change, _ingested_at
    from reservation_spans
    union all
    select item_id, warehouse_id, end_date as movement_date, -quantity as reserved_change, _ingested_at
    from reservation_spans
    where end_date is not null

),

reservation_daily as (

    select
        item_id,
        warehouse_id,
        movement_date,
        sum(reserved_change) as reserved_change,
        max(_ingested_at) as _ingested_at
    from reservation_changes
    group by item_id, warehouse_id, movement_date

)

select
    coalesce(l.item_id, r.item_id) as item_id,
    coalesce(l.warehouse_id, r.warehouse_id) as warehouse_id,
    coalesce(l.movement_date, r.movement_date) as movement_date,
    coalesce(l.net_change, 0) as net_change,
    coalesce(l.received_quantity, 0) as received_quantity,
    coalesce(l.issued_quantity, 0) as issued_quantity,
    coalesce(l.returned_quantity, 0) as returned_quantity,
    coalesce(l.adjusted_quantity, 0) as adjusted_quantity,
    coalesce(r.reserved_change, 0) as reserved_change,
    greatest(
        coalesce(l._ingested_at, r._ingested_at), coalesce(r._ingested_at, l._ingested_at)
    ) as _ingested_at
from ledger_daily as l
full outer join reservation_daily as r
    on
        l.item_id = r.item_id
        and l.warehouse_id = r.warehouse_id
        and l.movement_date = r.movement_date
