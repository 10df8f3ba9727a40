{#- Shared pieces of the incremental facts. Every incremental fact carries `_ingested_at`: the latest bronze
    ingestion time of the rows it was computed from. A run recomputes the keys touched by bronze rows ingested
    after the fact's own maximum `_ingested_at`, and replaces them (delete+insert on unique_key, on both engines). -#}

{#- The fact's watermark (the maximum of `column`, `_ingested_at` unless said) as a literal, read before the
    pre-hooks delete tombstoned keys (rows ingested after the last run are after it either way). A literal, not a
    subquery: PostgreSQL plans `_ingested_at > <subquery>` as a third of the table, where with the literal its index
    finds the few changed rows. -#}
{% macro watermark(column='_ingested_at') -%}
    {%- if execute and is_incremental() and this is not string and load_relation(this) is not none -%}
        {%- set value = run_query("select max(" ~ column ~ ") from " ~ this).columns[0].values()[0] -%}
        {%- if value is not none -%}
            {{ timestamp_literal(value) }}
        {%- else -%}
            cast('1900-01-01' as timestamp)
        {%- endif -%}
    {%- elif is_incremental() -%}
        {#- A unit test's `this` is a fixture, no relation to query. -#}
        (select coalesce(max({{ column }}), cast('1900-01-01' as timestamp)) from {{ this }})
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The wall-clock time of this dbt run, stamped on rows it (re)computed. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{#- Post-hook of every model (dbt_project.yml): on PostgreSQL, refresh the planner statistics of a table the run just
    built or changed, so the models after it in the same run plan with its new rows. The incremental facts find
    their changed keys with `_ingested_at > <watermark>`: against statistics taken before the rows arrived (autovacuum
    analyses a while after a build) PostgreSQL estimated one changed row, chose nested loops that re-aggregated the
    inputs for every outer row, and fct_order_lines ran for over 12 minutes instead of 8 s on 1% new data
    (5.3M order lines). DuckDB keeps no such statistics: nothing to do. -#}
{% macro analyze_built_table() -%}
    {%- if target.type == 'postgres' and config.get('materialized') in ('table', 'incremental') -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
