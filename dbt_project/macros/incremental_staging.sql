{#- Incremental staging of the large bronze tables.

    The large staging models are tables that take only the bronze rows ingested after their own latest
    `_ingested_at`: everything downstream then reads native warehouse tables (zone maps / indexes on
    `_ingested_at`) instead of re-scanning every Delta file through a view on each run, and an incremental run
    costs what the increment costs. Bronze rows replace the stored rows of the same key (delete+insert on the
    key); rows deleted in the OLTP (bronze tombstones) are removed by the pre-hook `delete_tombstoned_rows`.

    The watermark is read once and inlined as a literal, never as a subquery: a literal comparison is pushed
    into the Delta scan (DuckDB hands it to the Arrow dataset, which skips every Parquet row group whose
    `_ingested_at` statistics are older), while a subquery would make the scan read every file. -#}

{#- The staging table's latest `_ingested_at` (of its rows matching `where`, if given) as a timestamptz SQL literal;
    none on a full build or when there is no such row. -#}
{% macro staging_watermark_literal(where=none) -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query("select max(_ingested_at) from " ~ this ~ (" where " ~ where if where else "")) -%}
        {%- set value = found.columns[0].values()[0] if found.rows | length else none -%}
        {%- if value is not none -%}
            {{ return(timestamptz_literal(value)) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- A naive UTC datetime (as staging stores `_ingested_at`) as a timestamptz SQL literal, to the microsecond. -#}
{% macro timestamptz_literal(value) -%}
    {{ return("cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "+00' as timestamp with time zone)") }}
{%- endmacro %}

{#- `where _ingested_at > <watermark>` on incremental runs (the bronze rows not yet staged), nothing otherwise. -#}
{% macro where_ingested_after_watermark() -%}
    {%- set literal = staging_watermark_literal() -%}
    {%- if literal is not none %}
    where _ingested_at > {{ literal }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental staging models: delete the stored rows whose bronze row became a tombstone after
    the watermark. `source_key` is the bronze key column, `key` the staging one. -#}
{% macro delete_tombstoned_rows(source_relation, source_key, key) -%}
    {%- set literal = staging_watermark_literal() -%}
    {%- if literal is not none -%}
    delete from {{ this }}
    where {{ key }} in (
        select cast({{ source_key }} as bigint)
        from {{ source_relation }}
        where _is_deleted = true and _ingested_at > {{ literal }}
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Indexes of an incremental staging table on PostgreSQL (its key, for the delete+insert, and `_ingested_at`,
    for the changed-key lookups of the incremental facts); DuckDB needs none (zone maps). -#}
{% macro staging_indexes(key) -%}
    {{ return([{'columns': [key], 'unique': true}, {'columns': ['_ingested_at']}] if target.type == 'postgres' else []) }}
{%- endmacro %}
