-- Ledger movements of each item in each warehouse, summed per day (sparse: only days with a movement).
-- fct_inventory_daily cumulates them into daily on-hand positions. Reservations are not movements (they do not
-- change what is on hand); their lifecycle is in int_reservations_rolled_to_daily.
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

)

select
    item_id,
    warehouse_id,
    movement_date,
    net_change,
    received_quantity,
    issued_quantity,
    returned_quantity,
    adjusted_quantity,
    _ingested_at
from ledger_daily
