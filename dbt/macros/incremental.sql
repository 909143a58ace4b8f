{#
  Incremental runs rebuild only the reports that can have changed: those with rows in batches
  newer than the last successful transform (var since_batch_id, passed by `vnotify transform`),
  and those still inside the max_report_age window, where time-dependent reasons (stale,
  already notified, opted out) can change without new data. Older decisions are final.
#}
{% macro since_batch_id() -%}
    {{ var('since_batch_id', none) if var('since_batch_id', none) is not none else 0 }}
{%- endmacro %}

{% macro changed_reports() -%}
    select report_number from {{ source('ops', 'report_versions') }} where batch_id > {{ since_batch_id() }}
    union
    select btrim(report_number) from {{ source('raw', 'persons') }} where batch_id > {{ since_batch_id() }}
    union
    select btrim(report_number) from {{ source('raw', 'offenses') }} where batch_id > {{ since_batch_id() }}
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
