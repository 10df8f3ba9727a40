with source as (

    select * from {{ source('sim', 'lane_transit') }}

),

renamed as (

    select
        carrier as carrier,
        service as service,
        origin_warehouse as origin_warehouse,
        destination_region as destination_region,
        distribution as distribution,
        cast(mean_transit_days as double precision) as mean_transit_days,
        cast(sd_transit_days as double precision) as sd_transit_days,
        cast(reliability as double precision) as reliability
    from source
    where not coalesce(_is_deleted, false)

)

select * from renamed
