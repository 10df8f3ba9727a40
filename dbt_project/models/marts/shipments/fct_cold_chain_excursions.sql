-- Temperature excursions: runs of consecutive readings of one device outside the allowed range. Fixed sensors use
-- their zone's range; devices travelling with a shipment use the range of the coldest temperature class it carries.
with readings as (

    select * from {{ ref('stg_feeds__telemetry') }}
    where reading_type = 'temperature' and temperature_c is not null

),

zone_ranges as (

    select w.code as warehouse, z.code as zone, z.min_temp_c, z.max_temp_c
    from {{ ref('stg_oltp__zones') }} as z
    inner join {{ ref('stg_oltp__warehouses') }} as w on z.warehouse_id = w.warehouse_id

),

shipment_classes as (

    select
        s.shipment_number,
        max(case i.temperature_class when 'frozen' then 2 when 'chilled' then 1 else 0 end) as coldness
    from {{ ref('stg_oltp__shipments') }} as s
    inner join {{ ref('stg_oltp__shipment_lines') }} as sl on s.shipment_id = sl.shipment_id
    inner join {{ ref('stg_oltp__items') }} as i on sl.item_id = i.item_id
    -- Only shipments a device reported from: the rest of the shipment history has no reading to range.
    where s.shipment_number in (select shipment_number from readings where shipment_number is not null)
    group by s.shipment_number

),

ranged as (

    select
        r.device_id,
        r.device_type,
        r.warehouse,
        r.zone,
        r.shipment_number,
        r.reading_at,
        r.temperature_c,
        coalesce(z.min_temp_c, case sc.coldness when 2 then -30.0 when 1 then 2.0 end) as min_temp_c,
        coalesce(z.max_temp_c, case sc.coldness when 2 then -18.0 when 1 then 8.0 end) as max_temp_c
    from readings as r
    left join zone_ranges as z on r.warehouse = z.warehouse and r.zone = z.zone
    left join shipment_classes as sc on r.shipment_number = sc.shipment_number

),

flagged as (

    select
        *,
        (temperature_c < min_temp_c or temperature_c > max_temp_c) as is_out_of_range,
        row_number() over (partition by device_id order by reading_at)
        - row_number() over (
            partition by device_id, (temperature_c < min_temp_c or temperature_c > max_temp_c) order by reading_at
        ) as run_id
    from ranged
    where min_temp_c is not null or max_temp_c is not null

)

select
    md5(device_id || '|' || cast(min(reading_at) as varchar(32))) as excursion_id,
    device_id,
    max(device_type) as device_type,
    max(warehouse) as warehouse,
    max(zone) as zone,
    max(shipment_number) as shipment_number,
    min(reading_at) as started_at,
    max(reading_at) as ended_at,
    {{ fractional_days_between('min(reading_at)', 'max(reading_at)') }} * 1440.0 as duration_minutes,
    count(*) as reading_count,
    min(temperature_c) as min_temperature_c,
    max(temperature_c) as max_temperature_c,
    max(min_temp_c) as allowed_min_temp_c,
    max(max_temp_c) as allowed_max_temp_c,
    greatest(max(temperature_c) - max(max_temp_c), min(min_temp_c) - min(temperature_c), 0) as max_deviation_c
from flagged
where is_out_of_range
group by device_id, run_id
