with source as (

    select * from {{ source('sim', 'expected_demand') }}

),

renamed as (

    select
        item as item,
        warehouse as warehouse,
        cast(date as date) as demand_date,
        cast(expected_demand as double precision) as expected_demand
    from source
    where not coalesce(_is_deleted, false)

)

select * from renamed
