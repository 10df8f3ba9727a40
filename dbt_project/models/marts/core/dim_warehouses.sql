select
    w.warehouse_id,
    w.code as warehouse,
    w.name as warehouse_name,
    w.region,
    w.lat,
    w.lon,
    w.storage_capacity_m3,
    w.throughput_capacity_units_per_day,
    (select count(*) from {{ ref('stg_oltp__zones') }} as z where z.warehouse_id = w.warehouse_id) as zone_count,
    (select count(*) from {{ ref('stg_oltp__locations') }} as l where l.warehouse_id = w.warehouse_id) as location_count
from {{ ref('stg_oltp__warehouses') }} as w
