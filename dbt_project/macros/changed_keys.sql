{#- Keys touched by bronze rows ingested after `since` (a SQL expression of the fact's watermark), tombstones
    included. The incremental facts filter their inputs by these keys in the first CTEs that read staging, so a run
    reads and aggregates only the changed orders or shipments instead of the whole history. Models using these
    macros declare the staging models with `-- depends_on:` (dbt parses only the full-refresh branch). -#}

{% macro changed_order_ids(since) -%}
    select order_id from {{ ref('stg_oltp__orders') }} where _ingested_at > {{ since }}
    union
    select order_id from {{ ref('stg_oltp__order_lines') }} where _ingested_at > {{ since }}
    union
    select order_id from {{ ref('stg_oltp__tombstones') }}
    where _ingested_at > {{ since }} and source_table in ('orders', 'order_lines', 'shipments') and order_id is not null
    union
    select l.order_id
    from {{ ref('stg_oltp__order_lines') }} as l
    inner join (
        select order_line_id from {{ ref('stg_oltp__reservations') }} where _ingested_at > {{ since }}
        union
        select order_line_id from {{ ref('stg_oltp__pick_tasks') }} where _ingested_at > {{ since }}
        union
        select order_line_id from {{ ref('stg_oltp__shipment_lines') }} where _ingested_at > {{ since }}
        union
        select sl.order_line_id
        from {{ ref('stg_oltp__shipment_lines') }} as sl
        inner join (
            select shipment_id from {{ ref('stg_oltp__shipments') }} where _ingested_at > {{ since }}
            union
            select shipment_id from {{ ref('stg_oltp__tombstones') }}
            where _ingested_at > {{ since }} and source_table in ('shipments', 'shipment_lines')
        ) as s on sl.shipment_id = s.shipment_id
        union
        select order_line_id from {{ ref('stg_oltp__tombstones') }}
        where _ingested_at > {{ since }} and order_line_id is not null
    ) as changed on l.order_line_id = changed.order_line_id
{%- endmacro %}

{% macro changed_shipment_ids(since) -%}
    select shipment_id from {{ ref('stg_oltp__shipments') }} where _ingested_at > {{ since }}
    union
    select shipment_id from {{ ref('stg_oltp__tracking_events') }} where _ingested_at > {{ since }}
    union
    select s.shipment_id
    from {{ ref('stg_oltp__shipments') }} as s
    inner join {{ ref('stg_feeds__tracking_events') }} as f on f.tracking_number = s.tracking_number
    where f._ingested_at > {{ since }}
    union
    select shipment_id from {{ ref('stg_oltp__tombstones') }}
    where _ingested_at > {{ since }} and source_table in ('shipments', 'tracking_events') and shipment_id is not null
{%- endmacro %}

{#- Delete from the fact the rows of keys whose source rows were deleted (tombstones ingested after the fact's
    watermark). Used as a pre-hook of incremental runs: what is still alive is recomputed and re-inserted by the
    model (delete+insert); what was deleted stays deleted. Should the deleted rows hold the fact's maximum
    _ingested_at, the watermark only moves back, so the run recomputes more, never less. -#}
{% macro delete_tombstoned(column, source_tables, tombstone_column, prefix=none) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ column }} in (
        select {% if prefix %}'{{ prefix }}' || cast({{ tombstone_column }} as varchar(32)){% else %}{{ tombstone_column }}{% endif %}
        from {{ ref('stg_oltp__tombstones') }}
        where source_table in ('{{ source_tables | join("', '") }}')
            and {{ tombstone_column }} is not null
            and _ingested_at > (select coalesce(max(_ingested_at), cast('1900-01-01' as timestamp)) from {{ this }})
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- fct_tracking_events: carrier scans matched to a shipment deleted since the watermark lose the match (a full
    build would find no shipment for their tracking number). Pre-hook of incremental runs. -#}
{% macro unmatch_feed_events_of_deleted_shipments() -%}
    {%- if is_incremental() -%}
    update {{ this }}
    set shipment_id = null
    where event_source = 'feed'
        and shipment_id in (
            select shipment_id
            from {{ ref('stg_oltp__tombstones') }}
            where source_table = 'shipments'
                and _ingested_at > (select coalesce(max(_ingested_at), cast('1900-01-01' as timestamp)) from {{ this }})
        )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
