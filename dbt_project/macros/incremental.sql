{#- Shared pieces of the incremental facts. Every incremental fact carries `_ingested_at`: the latest bronze
    ingestion time of the rows it was computed from. A run recomputes the keys touched by bronze rows ingested
    after the fact's own maximum `_ingested_at`, and replaces them (delete+insert on unique_key, on both engines). -#}

{% macro watermark() -%}
    {%- if is_incremental() -%}
        (select coalesce(max(_ingested_at), cast('1900-01-01' as timestamp)) from {{ this }})
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The wall-clock time of this dbt run, stamped on rows it (re)computed. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}
