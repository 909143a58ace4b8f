{#
  Incremental runs rebuild only the reports that can have changed: those with rows (landed or
  quarantined) in a delivery one of whose batches settled (loaded, or got its expectations
  verdict) after the last successful transform (var since_settled_seq, passed by `vnotify
  transform`), and those still inside the max_report_age window, where time-dependent reasons
  (stale, already notified, opted out) can change without new data. Older decisions are final.
#}
{% macro since_settled_seq() -%}
    {{ var('since_settled_seq', none) if var('since_settled_seq', none) is not none else 0 }}
{%- endmacro %}

{% macro changed_batches() -%}
    select batch_id from {{ source('ops', 'ingest_batches') }}
    where delivery_id in (
        select delivery_id from {{ source('ops', 'ingest_batches') }} where settled_seq > {{ since_settled_seq() }}
    )
{%- endmacro %}

{% macro changed_reports() -%}
    select btrim(report_number) from {{ source('raw', 'incidents') }} where batch_id in ({{ changed_batches() }})
    union
    select btrim(report_number) from {{ source('raw', 'persons') }} where batch_id in ({{ changed_batches() }})
    union
    select btrim(report_number) from {{ source('raw', 'offenses') }} where batch_id in ({{ changed_batches() }})
    union
    select btrim(report_number) from {{ source('raw', 'cad_calls') }} where batch_id in ({{ changed_batches() }})
    union
    select btrim(raw_row ->> 'report_number') from {{ source('ops', 'quarantine') }}
    where batch_id in ({{ changed_batches() }})
{%- endmacro %}

{% macro open_reports() -%}
    select report_number from {{ ref('stg_rms__incidents') }}
    where reported_at >= {{ as_of() }} - interval '1 day' * ({{ var("max_report_age_days") }} + 1)
{%- endmacro %}

{# A filter on report_number for incremental runs of report-keyed models; empty otherwise. #}
{% macro only_reports_to_refresh(column, include_open=false) -%}
    {%- if is_incremental() %}
    {{ column }} in (
        {{ changed_reports() }}
        {%- if include_open %}
        union
        {{ open_reports() }}
        {%- endif %}
    )
    {%- else %}
    true
    {%- endif %}
{%- endmacro %}
