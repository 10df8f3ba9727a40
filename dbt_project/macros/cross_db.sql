{#- Cross-database helpers: the same SQL on DuckDB and PostgreSQL. dbt-core's own dbt.date_trunc, dbt.dateadd,
    dbt.datediff and dbt.safe_cast dispatch per adapter and are used directly in the models. -#}

{#- Bronze timestamps are timestamptz; models work in naive UTC timestamps so dates never depend on a session
    time zone and Parquet/BI readers see plain UTC wall-clock values. -#}
{% macro to_utc(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}

{#- Day of the week with Monday = 0 ... Sunday = 6 (isodow - 1 on both engines). -#}
{% macro day_of_week(date_column) -%}
    (cast(extract(isodow from {{ date_column }}) as integer) - 1)
{%- endmacro %}

{% macro month_of(date_column) -%}
    cast(extract(month from {{ date_column }}) as integer)
{%- endmacro %}

{% macro year_of(date_column) -%}
    cast(extract(year from {{ date_column }}) as integer)
{%- endmacro %}

{#- Whole days from start to end as an integer (dates or timestamps truncated to dates). -#}
{% macro days_between(start_column, end_column) -%}
    {{ dbt.datediff("cast(" ~ start_column ~ " as date)", "cast(" ~ end_column ~ " as date)", "day") }}
{%- endmacro %}

{#- Fractional days between two timestamps. -#}
{% macro fractional_days_between(start_column, end_column) -%}
    (cast(extract(epoch from ({{ end_column }} - {{ start_column }})) as double precision) / 86400.0)
{%- endmacro %}

{#- Date plus an integer number of days, typed as a date on both engines. -#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd("day", days, date_expression) }} as date)
{%- endmacro %}

{#- Sample standard deviation (same name and semantics on both engines; kept as a macro for other adapters). -#}
{% macro stddev(column) -%}
    stddev_samp({{ column }})
{%- endmacro %}

{#- One row per day between two dates (inclusive), column `date_day` (generate_series works on both engines). -#}
{% macro date_series(start_date, end_date) -%}
    select cast(g.d as date) as date_day
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval '1 day') as g(d)
{%- endmacro %}

{#- Days of supply: on-hand units over average daily demand; null when there is no demand (infinite cover). -#}
{% macro days_of_supply(on_hand, avg_daily_demand) -%}
    case when {{ avg_daily_demand }} > 0 then {{ on_hand }} / {{ avg_daily_demand }} end
{%- endmacro %}

{#- OTIF of one order line: in full = every unit not cancelled by the customer was delivered; on time = delivered
    on or before the promised date (no promise: on time once delivered); OTIF = both. Lines not yet delivered are
    neither (they count once due, see fct_otif_weekly). -#}
{% macro otif_flags(quantity_ordered, quantity_cancelled, quantity_delivered, delivered_at, promised_date) -%}
    ({{ quantity_delivered }} >= {{ quantity_ordered }} - {{ quantity_cancelled }}) as is_in_full,
    ({{ delivered_at }} is not null and ({{ promised_date }} is null or cast({{ delivered_at }} as date) <= {{ promised_date }})) as is_on_time,
    (
        {{ quantity_delivered }} >= {{ quantity_ordered }} - {{ quantity_cancelled }}
        and {{ delivered_at }} is not null
        and ({{ promised_date }} is null or cast({{ delivered_at }} as date) <= {{ promised_date }})
    ) as is_otif
{%- endmacro %}

{#- ABC × XYZ of one row among its peers (partition). ABC ranks by value: an item is A while the share of value
    of the items ranked strictly before it is under abc_a_share, B under abc_b_share, else C (so the top item is
    always A). XYZ by coefficient of variation: X up to xyz_x_cv, Y up to xyz_y_cv, else Z; no demand is Z. -#}
{% macro abc_xyz_columns(value, partition_by, tiebreak, mean, sd) -%}
    {{ value }} * 1.0 / nullif(sum({{ value }}) over (partition by {{ partition_by }}), 0) as value_share,
    coalesce(
        sum({{ value }}) over (
            partition by {{ partition_by }} order by {{ value }} desc, {{ tiebreak }}
            rows between unbounded preceding and 1 preceding
        ) * 1.0 / nullif(sum({{ value }}) over (partition by {{ partition_by }}), 0),
        0
    ) as value_share_before,
    case
        when coalesce(
            sum({{ value }}) over (
                partition by {{ partition_by }} order by {{ value }} desc, {{ tiebreak }}
                rows between unbounded preceding and 1 preceding
            ) * 1.0 / nullif(sum({{ value }}) over (partition by {{ partition_by }}), 0),
            0
        ) < {{ var('abc_a_share') }} then 'A'
        when sum({{ value }}) over (
            partition by {{ partition_by }} order by {{ value }} desc, {{ tiebreak }}
            rows between unbounded preceding and 1 preceding
        ) * 1.0 / nullif(sum({{ value }}) over (partition by {{ partition_by }}), 0) < {{ var('abc_b_share') }} then 'B'
        else 'C'
    end as abc_class,
    case when {{ mean }} > 0 then {{ sd }} / {{ mean }} end as demand_cv,
    case
        when not {{ mean }} > 0 then 'Z'
        when {{ sd }} / {{ mean }} <= {{ var('xyz_x_cv') }} then 'X'
        when {{ sd }} / {{ mean }} <= {{ var('xyz_y_cv') }} then 'Y'
        else 'Z'
    end as xyz_class
{%- endmacro %}
