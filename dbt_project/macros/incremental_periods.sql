{#- Aggregate marts refreshed by period. Such a mart groups a fact by a period (promise week, pickup month) that a
    fact row keeps once it is in the mart: the dates behind it are set once in the OLTP. An incremental run
    recomputes only the periods of the fact rows recomputed since the mart's last run, whole, and replaces them
    (delete+insert on the period column), so a group that left a period leaves the mart too.

    Every row the run writes carries `_watermark`: the latest `_ingested_at` of the fact and of the tombstones when
    the run read them; the mart's maximum is where the next run starts. A deletion the facts processed may leave a
    recomputed row with an older `_ingested_at`, and a deleted row's period is unknown once the fact dropped it, so
    a tombstone after the watermark clears the mart first (pre-hook `clear_when_rows_deleted`) and that run
    recomputes every period. Deletions are rare (the OLTP services delete nothing; tombstones come from manual
    fixes), new and changed rows are every run. -#}

{#- The config of such a mart, replaced by `unique_key` (its period, or its row key): delete+insert, the pre-hook
    below, and on PostgreSQL indexes on the key and on `_watermark` (whose maximum each run reads). -#}
{% macro watermarked_mart_config(unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'append_new_columns',
        'indexes': [{'columns': [unique_key]}, {'columns': ['_watermark']}] if target.type == 'postgres' else [],
        'pre_hook': '{{ clear_when_rows_deleted() }}',
    }) }}
{%- endmacro %}

{#- Whether this run is incremental on a mart that has the `_watermark` column (one built before the column came
    has not: it is rebuilt whole once). -#}
{% macro has_mart_watermark() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return('_watermark' in columns) }}
{%- endmacro %}

{#- The mart's watermark as a literal: `_watermark` of its last run; the epoch on a full build, on an empty mart, and
    when rows were deleted since (the pre-hook then empties the mart: both read the same tombstones). A literal, not
    a subquery: PostgreSQL plans `_ingested_at > <subquery>` as a third of the table and scanned all of it (5.3 s of
    fct_returns' 7.7 s at the benchmark's scale) where the index finds the few changed rows. -#}
{% macro mart_watermark() -%}
    {%- if execute and has_mart_watermark() -%}
        {%- set found = run_query(
            "select case when exists (select 1 from " ~ ref('stg_oltp__tombstones') ~ " where _ingested_at > w.mark)"
            ~ " then cast('1900-01-01' as timestamp) else w.mark end"
            ~ " from (select coalesce(max(_watermark), cast('1900-01-01' as timestamp)) as mark from " ~ this ~ ") as w"
        ) -%}
        {{ timestamp_literal(found.columns[0].values()[0]) }}
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- A timestamp from a query result (agate: a datetime, UTC) as a SQL literal, to the microsecond. -#}
{% macro timestamp_literal(value) -%}
    cast('{{ value.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- The watermark this run stamps on its rows: the latest ingestion it can have read from the `inputs` (a list of
    relations) and the tombstones. -#}
{% macro inputs_watermark(inputs) -%}
    {%- set relations = inputs + [ref('stg_oltp__tombstones')] -%}
    greatest(
        {%- for relation in relations %}
        (select coalesce(max(_ingested_at), cast('1900-01-01' as timestamp)) from {{ relation }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- `period` (an expression over `fact`'s columns) is one of those of the fact rows recomputed since the mart's
    watermark. True for every row on a full build. -#}
{% macro in_refreshed_periods(period, fact) -%}
    {%- if is_incremental() -%}
        {{ period }} in (select {{ period }} from {{ fact }} where _ingested_at > {{ mart_watermark() }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: empty the mart when rows were deleted since its watermark (or it has none), so the run recomputes
    every period. -#}
{% macro clear_when_rows_deleted() -%}
    {%- if has_mart_watermark() -%}
    delete from {{ this }}
    where exists (
        select 1 from {{ ref('stg_oltp__tombstones') }}
        where _ingested_at > (select coalesce(max(_watermark), cast('1900-01-01' as timestamp)) from {{ this }})
    )
    {%- elif is_incremental() -%}
    delete from {{ this }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
