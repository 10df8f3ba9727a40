{#- Post-hook of the incremental fct_demand_daily: the columns it copies from dimensions (item and warehouse codes,
    category, family, ABC and XYZ class) take their current values on every stored day, as a full build gives them.
    The classes move as demand accrues, and an incremental run recomputes only recent days: without this, older days
    kept the class of the run that computed them. Only rows whose values differ are written. -#}
{% macro refresh_demand_daily_attributes() -%}
    {%- if is_incremental() -%}
    update {{ this }}
    set item = cur.item, warehouse = cur.warehouse, category = cur.category, family = cur.family,
        abc_class = cur.abc_class, xyz_class = cur.xyz_class
    from (
        select
            i.item_id,
            w.warehouse_id,
            i.code as item,
            w.code as warehouse,
            i.category,
            i.family,
            coalesce(c.abc_class, 'C') as abc_class,
            coalesce(c.xyz_class, 'Z') as xyz_class
        from {{ ref('stg_oltp__items') }} as i
        cross join {{ ref('stg_oltp__warehouses') }} as w
        left join {{ ref('dim_item_abc_xyz') }} as c on i.item_id = c.item_id and w.warehouse_id = c.warehouse_id
    ) as cur
    where {{ this }}.item_id = cur.item_id
        and {{ this }}.warehouse_id = cur.warehouse_id
        and (
            {{ this }}.abc_class <> cur.abc_class
            or {{ this }}.xyz_class <> cur.xyz_class
            or {{ this }}.item <> cur.item
            or {{ this }}.warehouse <> cur.warehouse
            or {{ this }}.category is distinct from cur.category
            or {{ this }}.family is distinct from cur.family
        )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
