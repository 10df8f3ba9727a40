{#- Use the folder's schema verbatim (staging, intermediate, marts) instead of dbt's default
    "<target schema>_<custom>", so BI tools and the read-only role see a stable `marts` schema on every engine. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
