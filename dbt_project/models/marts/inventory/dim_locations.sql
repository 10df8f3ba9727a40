select
    l.location_id,
    l.code as location,
    l.warehouse_id,
    w.code as warehouse,
    l.zone_id,
    z.code as zone,
    z.temperature_class,
    l.aisle,
    l.bay,
    l.level,
    l.x,
    l.y,
    l.z,
    l.volume_capacity_m3,
    l.weight_capacity_kg,
    l.location_type,
    l.is_active
from {{ ref('stg_oltp__locations') }} as l
inner join {{ ref('stg_oltp__warehouses') }} as w on l.warehouse_id = w.warehouse_id
inner join {{ ref('stg_oltp__zones') }} as z on l.zone_id = z.zone_id
