select
    c.carrier_id,
    c.code as carrier,
    c.name as carrier_name,
    count(cs.carrier_service_id) as service_count,
    min(cs.promised_transit_days) as fastest_promised_transit_days,
    max(cs.promised_transit_days) as slowest_promised_transit_days
from {{ ref('stg_oltp__carriers') }} as c
left join {{ ref('stg_oltp__carrier_services') }} as cs on c.carrier_id = cs.carrier_id
group by c.carrier_id, c.code, c.name
