{#- On DuckDB the bronze sources are views over the Delta tables (dbt-duckdb's delta plugin, registered per run),
    so a run reads only what its models need instead of copying every bronze row into the warehouse file. Warehouse
    files built when sources were copied as tables still hold those copies; DuckDB cannot replace a table with a
    view, so drop them once (they are only a mirror of the Delta tables). No-op elsewhere. -#}
{% macro drop_bronze_table_copies() %}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set found = run_query(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            ~ "and table_schema = 'bronze' and table_type = 'BASE TABLE'"
        ) -%}
        {%- for row in found.rows -%}
            {%- do run_query('drop table if exists bronze."' ~ row[0] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

{#- Register every Delta source before the models run, on the one thread that runs the hooks. dbt-duckdb's plugin
    registers a view's Arrow dataset on first use and copies the registry into each new cursor without a lock, so
    first uses from parallel threads fail ("dictionary changed size during iteration"); once every source is known
    later uses only replace entries. Resolving source() is what loads it. No-op elsewhere. -#}
{% macro register_bronze_sources() %}
    {%- if execute and target.type == 'duckdb' -%}
        {%- for node in graph.sources.values() if node.meta.get('plugin') -%}
            {%- do source(node.source_name, node.name) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
